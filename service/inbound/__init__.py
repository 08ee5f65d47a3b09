"""Capture of needs from outside (DESIGN section 11): e-mail to ``needs+<tenant>@<domain>``
through the SMTP receiver (``mail``, ``smtp``) and the callbacks of WeCom, DingTalk and Feishu
bots (``bots``; the views are service/hooks.py). Both end in ``service.services.need_create``
inside the tenant the message was addressed to, and nowhere else. docs/service.md, Capture.
"""
