"""A tenant's chat bots whose callbacks bring needs in: list them, add one, switch one off or on.

    manage.py service_bots --tenant acme
    manage.py service_bots --tenant acme --add wecom --name 客服群 --token T --aes-key K [--receive-id CORPID]
    manage.py service_bots --tenant acme --add dingtalk --name 钉钉客服 --secret S
    manage.py service_bots --tenant acme --add feishu --name 飞书客服 --secret ENCRYPT_KEY [--token VERIFICATION_TOKEN]
    manage.py service_bots --tenant acme --disable 3     (--enable 3)

Each line printed names the callback URL to enter in the vendor's console (docs/service.md,
Capture). The keys are never printed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from kam.models import Tenant
from kam.tenancy import tenant_context
from service.inbound.bots import inbound_bot_create, inbound_bot_set_active
from service.models import BotKind, InboundBot


class Command(BaseCommand):
    help = "List, add, switch off or on a tenant's chat bots (WeCom, DingTalk, Feishu) that capture needs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--add", choices=BotKind.values, metavar="KIND", help="wecom, dingtalk or feishu")
        action.add_argument("--disable", type=int, metavar="ID")
        action.add_argument("--enable", type=int, metavar="ID")
        parser.add_argument("--name", default="")
        parser.add_argument("--token", default="", help="WeCom Token; Feishu Verification Token")
        parser.add_argument("--secret", default="", help="DingTalk AppSecret; Feishu Encrypt Key")
        parser.add_argument("--aes-key", default="", help="WeCom EncodingAESKey")
        parser.add_argument("--receive-id", default="", help="WeCom CorpID (empty for an intelligent robot)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {options['tenant']!r}")
        with tenant_context(tenant):
            if options["add"]:
                try:
                    bot = inbound_bot_create(
                        tenant,
                        kind=options["add"],
                        name=options["name"] or options["add"],
                        token=options["token"],
                        secret=options["secret"],
                        aes_key=options["aes_key"],
                        receive_id=options["receive_id"],
                    )
                except ValidationError as exc:
                    raise CommandError(" ".join(exc.messages)) from exc
                self.stdout.write(self._line(tenant, bot))
                return
            chosen = options["disable"] or options["enable"]
            if chosen:
                bot = InboundBot.objects.filter(pk=chosen).first()
                if bot is None:
                    raise CommandError(f"{tenant.slug} has no bot {chosen}")
                inbound_bot_set_active(tenant, bot=bot, is_active=bool(options["enable"]))
                self.stdout.write(self._line(tenant, bot))
                return
            for bot in InboundBot.objects.all():
                self.stdout.write(self._line(tenant, bot))

    @staticmethod
    def _line(tenant: Tenant, bot: InboundBot) -> str:
        path = reverse("service-bot-callback", kwargs={"slug": tenant.slug, "kind": bot.kind, "bot_id": bot.pk})
        state = "on" if bot.is_active else "off"
        return f"{bot.pk}\t{bot.kind}\t{state}\t{path}\t{bot.name}"
