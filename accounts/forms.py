"""Forms of the account pages. They check the input's shape; the services validate the
rest (model rules, constraints, tenant) and their ValidationErrors are put beside the
fields by :func:`kam.forms.add_service_errors`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts import documents, selectors, services
from accounts.models import (
    Account,
    AccountStatus,
    Attitude,
    BuyingRole,
    Contact,
    ContactLevel,
    Contract,
    EventKind,
    HealthBand,
    InteractionKind,
    Invoice,
    IpOwnership,
    Order,
    Payment,
    Tier,
)
from accounts.validators import validate_credit_code
from kam.forms import DateField, DateTimeField, UserChoiceField, parse_date_text
from kam.models import Tenant, User


def _label(model: type, field: str) -> str:
    return capfirst(model._meta.get_field(field).verbose_name)


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        label = f"{obj.name} · {obj.title}" if obj.title else obj.name
        return f"{label} ({_('left')})" if obj.left_on else label


# --- list filters ---------------------------------------------------------------------------------


class AccountFilterForm(forms.Form):
    """The list's search, filters and sort; an invalid value is dropped, not an error page."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, legal name or credit code"), "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    health_band = forms.ChoiceField(label=_("Health"), required=False)
    # growth's denormalised figures (DESIGN section 12)
    min_potential = forms.DecimalField(
        label=_("Potential at least"),
        required=False,
        min_value=Decimal("0"),
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"min": "0", "step": "any", "inputmode": "decimal", "placeholder": "¥"}),
    )
    share_of_wallet = forms.ChoiceField(label=_("Share of wallet"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort"), required=False, choices=[(key, key) for key in selectors.SORTS], widget=forms.HiddenInput
    )

    FILTERS = ("q", "status", "tier", "industry", "region", "owner", "health_band", "min_potential", "share_of_wallet")
    SHARE_OF_WALLET_CHOICES = (
        ("under-25", _("Below 25%")),
        ("25-50", _("25% to 50%")),
        ("50-75", _("50% to 75%")),
        ("75-up", _("75% and above")),
        ("none", _("No wallet")),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        choices = selectors.account_filter_choice_list(tenant)
        self.fields["status"].choices = every + list(AccountStatus.choices)
        self.fields["tier"].choices = every + list(Tier.choices)
        self.fields["industry"].choices = every + [(value, value) for value in choices["industries"]]
        self.fields["region"].choices = every + [(value, value) for value in choices["regions"]]
        self.fields["owner"].choices = every + [(user.pk, user.display_name) for user in selectors.user_list(tenant)]
        self.fields["health_band"].choices = every + list(HealthBand.choices)
        self.fields["share_of_wallet"].choices = every + list(self.SHARE_OF_WALLET_CHOICES)

    def filters(self) -> dict[str, Any]:
        """The valid filters for selectors.account_list (invalid ones are ignored)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        values = {name: data[name] for name in self.FILTERS if data.get(name) not in (None, "")}
        values["sort"] = data.get("sort") or "name"
        return values

    def active(self) -> bool:
        """Whether any filter or search narrows the list."""
        return any(key != "sort" for key in self.filters())


# --- account create and edit ----------------------------------------------------------------------


class AccountForm(forms.Form):
    name = forms.CharField(label=_label(Account, "name"), max_length=200)
    legal_name = forms.CharField(label=_label(Account, "legal_name"), max_length=200, required=False)
    credit_code = forms.CharField(
        label=_label(Account, "credit_code"),
        max_length=18,
        required=False,
        help_text=_("18 characters; the check character is verified when a code is given."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "input-code"}),
    )
    industry = forms.CharField(label=_label(Account, "industry"), max_length=100, required=False)
    region = forms.CharField(label=_label(Account, "region"), max_length=100, required=False)
    parent = forms.ModelChoiceField(
        label=_("Parent (customer group)"),
        queryset=Account.objects.none(),
        required=False,
        empty_label=_("— none —"),
    )
    owner = UserChoiceField(
        label=_label(Account, "owner"), queryset=User.objects.none(), required=False, empty_label=_("— nobody —")
    )
    status = forms.ChoiceField(label=_label(Account, "status"), choices=AccountStatus.choices)
    cooperation_since = DateField(label=_label(Account, "cooperation_since"), required=False)
    notes = forms.CharField(label=_label(Account, "notes"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    # The account's version when the form was shown: a save over a newer one is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, tenant: Tenant, account: Account | None = None, **kwargs: Any) -> None:
        if account is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "version": account.version,
                "name": account.name,
                "legal_name": account.legal_name,
                "credit_code": account.credit_code,
                "industry": account.industry,
                "region": account.region,
                "parent": account.parent_id,
                "owner": account.owner_id,
                "status": account.status,
                "cooperation_since": account.cooperation_since,
                "notes": account.notes,
            }
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.account = account
        self.fields["parent"].queryset = selectors.account_choice_list(tenant, exclude=account)
        self.fields["owner"].queryset = selectors.user_list(
            tenant, include=[account.owner_id] if account is not None else []
        )
        if account is None:
            self.fields["status"].initial = AccountStatus.ACTIVE

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Give the account a name."))
        return name

    def clean_credit_code(self) -> str:
        code = self.cleaned_data["credit_code"].strip().upper()
        validate_credit_code(code)
        if code:
            others = Account.objects.filter(credit_code=code)
            if self.account is not None:
                others = others.exclude(pk=self.account.pk)
            if others.exists():
                raise ValidationError(_("Another account already has this unified social credit code."))
        return code

    def refused_as_stale(self, current_version: int) -> None:
        """After a save refused because someone else saved first: keep the person's input, and
        carry the version now stored, so that saving again (knowingly) keeps their changes."""
        data = self.data.copy()
        data[self.add_prefix("version")] = str(current_version)
        self.data = data
        self.stale = True


# --- contacts -------------------------------------------------------------------------------------


class ContactForm(forms.Form):
    name = forms.CharField(label=_label(Contact, "name"), max_length=100)
    title = forms.CharField(label=_label(Contact, "title"), max_length=100, required=False)
    department = forms.CharField(label=_label(Contact, "department"), max_length=100, required=False)
    level = forms.ChoiceField(label=_label(Contact, "level"), choices=ContactLevel.choices)
    buying_role = forms.ChoiceField(label=_label(Contact, "buying_role"), choices=BuyingRole.choices)
    attitude = forms.ChoiceField(label=_label(Contact, "attitude"), choices=Attitude.choices)
    reports_to = ContactChoiceField(
        label=_label(Contact, "reports_to"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("— nobody —"),
    )
    email = forms.EmailField(label=_label(Contact, "email"), required=False)
    phone = forms.CharField(label=_label(Contact, "phone"), max_length=40, required=False)
    left_on = DateField(label=_label(Contact, "left_on"), required=False)

    def __init__(
        self, *args: Any, tenant: Tenant, account: Account, contact: Contact | None = None, **kwargs: Any
    ) -> None:
        if contact is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(contact, name) for name in self.base_fields if name != "reports_to"}
            kwargs["initial"]["reports_to"] = contact.reports_to_id
        super().__init__(*args, **kwargs)
        self.fields["reports_to"].queryset = selectors.contact_choice_list(tenant, account, exclude=contact)
        if contact is None:
            self.fields["level"].initial = ContactLevel.OPERATIONAL
            self.fields["buying_role"].initial = BuyingRole.USER
            self.fields["attitude"].initial = Attitude.NEUTRAL

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Give the contact a name."))
        return name


# --- interactions and events ----------------------------------------------------------------------


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=InteractionKind.choices)
    contact = ContactChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label=_("— nobody in particular —")
    )
    occurred_at = DateTimeField(label=_("When"))
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)

    def __init__(self, *args: Any, tenant: Tenant, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = selectors.contact_choice_list(tenant, account)
        self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_occurred_at(self) -> dt.datetime:
        """In UTC, from 1900 on: PostgreSQL refuses offsets beyond ±15:59 (+18:01 is valid ISO
        8601), and before 1900 the time zone gives a local mean time answers cannot carry."""
        instant = self.cleaned_data["occurred_at"]
        try:
            instant = instant.astimezone(dt.UTC)
        except OverflowError:
            instant = None
        if instant is None or instant < dt.datetime(1900, 1, 1, tzinfo=dt.UTC):
            raise ValidationError(_("Enter a date and time from 1900 on."))
        return instant

    def clean_summary(self) -> str:
        summary = self.cleaned_data["summary"].strip()
        if not summary:
            raise ValidationError(_("Say in a few words what happened."))
        return summary


class EventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=EventKind.choices)
    occurred_on = DateField(label=_("Occurred on"))
    impact_points = forms.DecimalField(
        label=_("Impact points"),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("-100"),
        max_value=Decimal("100"),
    )
    expires_on = DateField(label=_("Expires on"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_on"].initial = today
        self.fields["kind"].initial = EventKind.MAJOR_INVESTMENT
        kind, occurred_on = self._chosen_kind_and_day(today)
        points, expires = services.event_defaults(kind, occurred_on)
        self.default_points = points
        self.default_expires_on = expires
        self.fields["impact_points"].widget.attrs["placeholder"] = f"{points:+.0f}" if points else "0"
        if expires is not None:
            self.fields["expires_on"].widget.attrs["placeholder"] = expires.isoformat()

    def _chosen_kind_and_day(self, today: dt.date) -> tuple[str, dt.date]:
        """The kind and day typed so far (bound data, or the initial values), for the defaults shown."""
        source = self.data if self.is_bound else self.initial
        kind = source.get("kind") or self.fields["kind"].initial
        if kind not in EventKind.values:
            kind = EventKind.MAJOR_INVESTMENT
        day = source.get("occurred_on") or today
        if isinstance(day, str):
            day = parse_date_text(day) or today
        return kind, day


# --- orders, invoices and payments (entered on the account's tabs) -------------------------------------
# The same rules and messages as the API and the import (accounts/imports): the services decide,
# and these forms only parse, and say in the import's words what a file's cell would be told.


def money_field(label: Any, *, required: bool = True, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=16,
        decimal_places=2,
        error_messages={
            "max_decimal_places": _("Use at most two decimal places."),
            "max_digits": _("The number is too large."),
            "max_whole_digits": _("The number is too large."),
        },
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "placeholder": "¥"}),
        **kwargs,
    )


class OrderForm(forms.Form):
    order_date = DateField(label=_label(Order, "order_date"))
    amount = money_field(_label(Order, "amount"))
    cost = money_field(_label(Order, "cost"), required=False)
    product_line = forms.CharField(label=_label(Order, "product_line"), max_length=100, required=False)
    offering = forms.CharField(
        label=_label(Order, "offering"),
        max_length=40,
        required=False,
        help_text=_("the code of an offering of the workspace's catalogue; blank: the product line's mapping"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "input-code"}),
    )
    buying_centre = forms.CharField(
        label=_label(Order, "buying_centre"),
        max_length=40,
        required=False,
        help_text=_("the code of a buying centre of the order's account; blank: the account's primary one"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "input-code"}),
    )
    external_ref = forms.CharField(
        label=_label(Order, "external_ref"),
        max_length=100,
        required=False,
        help_text=_("Your system's number of the order, unique in the workspace; blank when there is none."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order_date"].initial = today

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise ValidationError(_("The amount must be greater than zero."))
        return amount

    def clean_cost(self) -> Decimal | None:
        cost = self.cleaned_data["cost"]
        if cost is not None and cost < 0:
            raise ValidationError(_("The cost cannot be negative."))
        return cost

    def clean_external_ref(self) -> str:
        # Beside the field (the service's unique constraint would say it above the form).
        reference = self.cleaned_data["external_ref"].strip()
        if reference and Order.objects.filter(external_ref=reference).exists():
            raise ValidationError(_("An order with this external reference exists already."))
        return reference


class InvoiceForm(forms.Form):
    number = forms.CharField(
        label=_label(Invoice, "number"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    issued_on = DateField(label=_label(Invoice, "issued_on"))
    due_on = DateField(label=_label(Invoice, "due_on"), help_text=_("date, not before the issue date"))
    amount = money_field(_label(Invoice, "amount"))

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issued_on"].initial = today

    def clean_number(self) -> str:
        number = self.cleaned_data["number"]
        if Invoice.objects.filter(number=number).exists():
            raise ValidationError(_("An invoice with this number exists already."))
        return number

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise ValidationError(_("The amount must be greater than zero."))
        return amount


class PaymentForm(forms.Form):
    """The payment's rules (the balance, the days) are the service's: accounts.services.payment_create."""

    paid_on = DateField(label=_label(Payment, "paid_on"))
    amount = money_field(_label(Payment, "amount"))
    reference = forms.CharField(
        label=_label(Payment, "reference"),
        max_length=100,
        required=False,
        help_text=_("E.g. the bank transfer's number."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, today: dt.date, invoice: Invoice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = today
        self.fields["amount"].initial = invoice.balance
        self.fields["paid_on"].widget.attrs.update({"min": invoice.issued_on.isoformat(), "max": today.isoformat()})


# --- contracts (the clause register, DESIGN section 14) -------------------------------------------------
# Shape only: the rules (end before start, amounts not negative, notice 0..730 days, confidentiality
# from the start on) are Contract.clean and the model's validators, which the API shares.


class ContractForm(forms.Form):
    title = forms.CharField(label=_label(Contract, "title"), max_length=200)
    start_on = DateField(label=_label(Contract, "start_on"))
    end_on = DateField(label=_label(Contract, "end_on"))
    value = money_field(_label(Contract, "value"))
    auto_renew = forms.BooleanField(label=_label(Contract, "auto_renew"), required=False)
    notice_days = forms.IntegerField(
        label=_label(Contract, "notice_days"),
        help_text=_("0 to 730 days; a renewal opens this many days plus 30 before the end."),
        widget=forms.NumberInput(attrs={"min": "0", "max": "730", "step": "1", "inputmode": "numeric"}),
    )
    # The clause register (条款登记)
    ip_ownership = forms.ChoiceField(
        label=_label(Contract, "ip_ownership"),
        choices=IpOwnership.choices,
        help_text=_("Ours or joint protects our know-how; otherwise only confidentiality in force does."),
    )
    confidentiality_until = DateField(
        label=_label(Contract, "confidentiality_until"),
        required=False,
        help_text=_("Blank: no confidentiality agreed."),
    )
    exclusivity = forms.BooleanField(label=_label(Contract, "exclusivity"), required=False)
    non_solicit = forms.BooleanField(label=_label(Contract, "non_solicit"), required=False)
    liability_cap = money_field(_label(Contract, "liability_cap"), required=False, help_text=_("Blank: no cap agreed."))
    document = forms.FileField(
        label=_label(Contract, "document"),
        required=False,
        widget=forms.FileInput(attrs={"accept": documents.ACCEPT}),
    )

    CLAUSES = ("ip_ownership", "confidentiality_until", "exclusivity", "non_solicit", "liability_cap")

    def __init__(self, *args: Any, contract: Contract | None = None, **kwargs: Any) -> None:
        if contract is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(contract, name) for name in services.CONTRACT_TERMS}
        super().__init__(*args, **kwargs)
        self.contract = contract
        limits = _("PDF, Word (DOCX), Excel (XLSX), PNG or JPEG, at most %(limit)s MB; checked by its content.") % {
            "limit": documents.limit_mb()
        }
        # A stored document is replaced by uploading another (removed by its own confirmed action).
        if contract is not None and contract.document:
            limits = "{} {}".format(_("Choose a file to replace the current document, which is then deleted."), limits)
        self.fields["document"].help_text = limits
        if contract is None:
            self.fields["notice_days"].initial = Contract._meta.get_field("notice_days").default
            self.fields["ip_ownership"].initial = IpOwnership.NONE

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError(_("Give the contract a title."))
        return title

    def clean(self) -> dict[str, Any]:
        """The contract's own rules (Contract.clean and its fields' validators, which the services
        and the API apply too) on the terms that parsed: their messages come with any other
        field's, the file's included, in one answer."""
        data = super().clean()
        terms = {name: data[name] for name in services.CONTRACT_TERMS if name in data}
        probe = Contract(**terms)
        others = [field.name for field in Contract._meta.get_fields() if field.concrete and field.name not in terms]
        try:
            probe.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, messages)
        return data

    def clean_document(self) -> Any:
        upload = self.cleaned_data.get("document")
        if upload:
            try:
                documents.check_document(upload)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["document"]) from None
        return upload

    def service_data(self) -> dict[str, Any]:
        """The cleaned fields for contract_create / contract_update (no document: left as it is)."""
        data = dict(self.cleaned_data)
        if not data.get("document"):
            data.pop("document", None)
        return data

    def clause_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CLAUSES]
