"""The callbacks of the chat bots that bring needs in: /hooks/service/<tenant>/<kind>/<bot>/.

No session, no CSRF token: a callback is believed by its vendor's signature alone
(service/inbound/bots.py). The tenant comes from the URL, the bot from inside the tenant;
an unknown tenant, another tenant's bot or a bot switched off are all 404. A refusal is a
short JSON error and a warning in the log, and stores nothing.

The answers are what each vendor expects: WeCom "success" (or the decrypted echo string of
its URL check), DingTalk a text message that acknowledges the need, Feishu JSON (the
challenge of its URL check).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kam.api.errors import error_body
from kam.models import Tenant
from kam.security import content_length
from kam.tenancy import tenant_context
from service.inbound.bots import Callback, HookRefused, need_capture_chat, read_callback, release
from service.models import BotKind, InboundBot, Need

logger = logging.getLogger(__name__)

MAX_ID = 2**63 - 1


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _not_found() -> JsonResponse:
    return _error(404, "not_found", _("No such bot."))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def bot_callback(request: HttpRequest, slug: str, kind: str, bot_id: int) -> HttpResponse:
    if kind not in BotKind.values or bot_id > MAX_ID:
        return _not_found()
    if content_length(request) > settings.SERVICE_HOOK_MAX_BYTES:
        return _error(413, "too_large", _("The callback's body is larger than this endpoint takes."))
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        return _not_found()
    with tenant_context(tenant):
        bot = InboundBot.objects.filter(pk=bot_id, kind=kind, is_active=True).first()
        if bot is None:
            return _not_found()
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            callback = read_callback(bot, request.method or "", request.GET, headers, request.body)
        except HookRefused as refused:
            logger.warning(
                "refused a %s callback for %s bot %s: %s %s", kind, slug, bot_id, refused.status, refused.code
            )
            return _error(refused.status, refused.code, refused.message)
        need = None
        if callback.message is not None:
            try:
                need, _created = need_capture_chat(tenant, bot=bot, message=callback.message)
            except ValidationError as invalid:
                release(callback)
                logger.warning("could not store a %s message for %s bot %s: %s", kind, slug, bot_id, invalid)
                return _error(400, "invalid", " ".join(invalid.messages))
            except Exception:
                release(callback)  # the vendor's retry must not be taken for a replay
                raise
        return _answer(callback, need)


def _answer(callback: Callback, need: Need | None) -> HttpResponse:
    if callback.challenge is not None:
        if callback.kind == BotKind.FEISHU:
            return JsonResponse({"challenge": callback.challenge})
        return HttpResponse(callback.challenge, content_type="text/plain; charset=utf-8")
    if callback.kind == BotKind.WECOM:
        # An application's callback wants "success"; an intelligent robot an empty answer.
        return HttpResponse("" if callback.encrypted_json else "success", content_type="text/plain; charset=utf-8")
    if callback.kind == BotKind.DINGTALK:
        if need is None:
            return JsonResponse({})
        with translation.override(settings.LANGUAGE_CODE):
            text = _("Received, reference %(ref)s. We will get back to you soon.") % {"ref": f"#{need.pk}"}
        return JsonResponse({"msgtype": "text", "text": {"content": text}}, json_dumps_params={"ensure_ascii": False})
    return JsonResponse({"code": 0, "msg": "success"})
