"""Serializers of the portfolio API: plain ones over portfolio.engine's rows (nothing is stored)."""

from __future__ import annotations

from rest_framework import serializers

MONEY = {"max_digits": 20, "decimal_places": 2}


class PortfolioTierMixSerializer(serializers.Serializer):
    S = serializers.IntegerField()
    A = serializers.IntegerField()
    B = serializers.IntegerField()
    C = serializers.IntegerField()


class PortfolioPersonSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    as_of = serializers.DateField(source="day")
    index = serializers.DecimalField(
        max_digits=6, decimal_places=2, allow_null=True, help_text="The incentive index, 0..100."
    )
    revenue = serializers.DecimalField(**MONEY, help_text="sum of share x revenue_12m.")
    revenue_rank = serializers.DecimalField(
        max_digits=6, decimal_places=4, help_text="percent_rank of revenue among the people, 0..1."
    )
    health = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    growth = serializers.DecimalField(max_digits=10, decimal_places=4, allow_null=True)
    growth_points = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    accounts = serializers.IntegerField()
    tier_mix = PortfolioTierMixSerializer()
    open_alerts = serializers.IntegerField()
    sla_breaches = serializers.IntegerField()


class PortfolioAccountSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    name = serializers.CharField()
    tier = serializers.CharField(allow_null=True, allow_blank=True)
    allocation = serializers.DecimalField(max_digits=6, decimal_places=0)
    share = serializers.DecimalField(max_digits=6, decimal_places=4)
    revenue_12m = serializers.DecimalField(**MONEY, allow_null=True)
    revenue_share = serializers.DecimalField(**MONEY, help_text="share x revenue_12m.")
    health = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    growth = serializers.DecimalField(max_digits=10, decimal_places=4, allow_null=True)
    open_alerts = serializers.IntegerField()
    sla_breaches = serializers.IntegerField()


class PortfolioPersonDetailSerializer(PortfolioPersonSerializer):
    held = PortfolioAccountSerializer(many=True)
    trend = PortfolioPersonSerializer(many=True, help_text="The figures at the last four quarter ends, oldest first.")


class PortfolioMemberShareSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    allocation = serializers.DecimalField(max_digits=6, decimal_places=0)
    share = serializers.DecimalField(max_digits=6, decimal_places=4)


class PortfolioTeamSerializer(serializers.Serializer):
    team_id = serializers.IntegerField()
    account_id = serializers.IntegerField()
    account_name = serializers.CharField()
    tier = serializers.CharField(allow_null=True, allow_blank=True)
    revenue_12m = serializers.DecimalField(**MONEY, allow_null=True)
    health = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    growth = serializers.DecimalField(max_digits=10, decimal_places=4, allow_null=True)
    open_alerts = serializers.IntegerField()
    sla_breaches = serializers.IntegerField()
    allocation = serializers.DecimalField(max_digits=8, decimal_places=0, allow_null=True)
    members = PortfolioMemberShareSerializer(many=True)
