"""The message catalogue: one short English and Arabic text per code (error and verdict codes).

A verification result, the CLI and the service show these texts to people; the exception's own
message (English, with the particulars: which time, which key, which file) is the ``detail``.
``specs/format.md`` §9 lists every code with both texts; a test keeps the two in step.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final, NamedTuple


class Message(NamedTuple):
    """A code's text for people, in English and Arabic."""

    en: str
    ar: str


#: Codes that are verdicts or CLI outcomes, not exceptions (see ``specs/format.md`` §9).
VERDICT_CODES: Final = frozenset({
    "revoked", "revocation_missing", "revocation_stale", "revocation_not_applicable",
    "trust_list_stale", "usage", "interrupted",
})

#: Codes of the verification service's own refusals of a request (``verifier_service``).
SERVICE_CODES: Final = frozenset({"request_invalid", "body_too_large", "api_key_required",
                                  "api_key_invalid", "forbidden", "purpose_required",
                                  "rate_limited", "not_found", "not_available",
                                  "signing_key_unavailable", "request_timeout",
                                  "store_unavailable",
                                  "upload_unsupported", "pdf_invalid", "pdf_too_many_pages",
                                  "access_code_wrong", "holder_view_unavailable"})

_M = Message
_CATALOGUE: dict[str, Message] = {
    # --- verdicts ---------------------------------------------------------------------------------
    "valid": _M("The card is valid: signature, dates, signer and revocation status checked.",
                "البطاقة صالحة: تم التحقق من التوقيع والتواريخ والجهة المُصدِرة وحالة الإلغاء."),
    "valid_no_revocation": _M(
        "The card is valid: signature, dates and signer checked; its revocation status was not "
        "checked (no revocation list is used for it here).",
        "البطاقة صالحة: تم التحقق من التوقيع والتواريخ والجهة المُصدِرة؛ لم يُتحقق من حالة "
        "إلغائها (لا تُستخدم قائمة إلغاء لها هنا)."),
    # A valid card read from an image: was its print (MRZ, Code128) checked against the signature?
    "valid_print_checked": _M(
        "The card is valid: signature, dates, signer and revocation status checked, and the "
        "printed data read from the image matches the signed data.",
        "البطاقة صالحة: تم التحقق من التوقيع والتواريخ والجهة المُصدِرة وحالة الإلغاء، "
        "والبيانات المطبوعة المقروءة من الصورة تطابق البيانات الموقّعة."),
    "valid_print_not_checked": _M(
        "The signature is valid (dates, signer and revocation status checked), but the print "
        "was not checked: no printed number could be read from the image. Compare the photo and "
        "names on the card with the signed ones.",
        "التوقيع صالح (تم التحقق من التواريخ والجهة المُصدِرة وحالة الإلغاء)، لكن الطباعة لم "
        "تُفحص: تعذّرت قراءة أي رقم مطبوع من الصورة. قارن الصورة والأسماء على البطاقة بالموقّعة."),
    "valid_no_revocation_print_checked": _M(
        "The card is valid: signature, dates and signer checked, and the printed data read from "
        "the image matches the signed data; its revocation status was not checked.",
        "البطاقة صالحة: تم التحقق من التوقيع والتواريخ والجهة المُصدِرة، والبيانات المطبوعة "
        "المقروءة من الصورة تطابق البيانات الموقّعة؛ لم يُتحقق من حالة إلغائها."),
    "valid_no_revocation_print_not_checked": _M(
        "The signature is valid (dates and signer checked), but the print was not checked: no "
        "printed number could be read from the image; its revocation status was not checked "
        "either. Compare the photo and names on the card with the signed ones.",
        "التوقيع صالح (تم التحقق من التواريخ والجهة المُصدِرة)، لكن الطباعة لم تُفحص: تعذّرت "
        "قراءة أي رقم مطبوع من الصورة؛ ولم يُتحقق من حالة الإلغاء أيضًا. قارن الصورة والأسماء "
        "على البطاقة بالموقّعة."),
    "revoked": _M("The card has been revoked and must not be accepted.",
                  "تم إلغاء هذه البطاقة ويجب عدم قبولها."),
    "revocation_missing": _M(
        "Cannot confirm: no revocation list is loaded, so the card may have been revoked.",
        "تعذّر التأكيد: لا توجد قائمة إلغاء محمّلة، فقد تكون البطاقة ملغاة."),
    "revocation_stale": _M(
        "Cannot confirm: the revocation list is out of date; update it and check again.",
        "تعذّر التأكيد: قائمة الإلغاء قديمة؛ حدّثها ثم أعد التحقق."),
    "revocation_not_applicable": _M(
        "Cannot confirm: the card has no document number to look up in the revocation list.",
        "تعذّر التأكيد: لا تحمل البطاقة رقم وثيقة للبحث عنه في قائمة الإلغاء."),
    "trust_list_stale": _M(
        "Cannot confirm: the list of trusted centres is out of date; update it and check again.",
        "تعذّر التأكيد: قائمة المراكز الموثوقة قديمة؛ حدّثها ثم أعد التحقق."),
    "usage": _M("The command was used incorrectly or a file could not be read.",
                "استُخدم الأمر بشكل غير صحيح أو تعذّرت قراءة ملف."),
    "interrupted": _M("The operation was interrupted.", "تمت مقاطعة العملية."),
    # --- the card's content -----------------------------------------------------------------------
    "card_error": _M("The operation failed.", "فشلت العملية."),
    "record_invalid": _M("The holder's data breaks the card rules.",
                         "بيانات حامل البطاقة مخالفة لقواعد البطاقة."),
    "history_not_found": _M("No history was found for this national number and document number.",
                            "لا يوجد سجل لهذا الرقم الوطني ورقم الوثيقة."),
    # --- decoding ---------------------------------------------------------------------------------
    "decode_error": _M("The card's code could not be read: it is not a card payload.",
                       "تعذّرت قراءة رمز البطاقة: ليس محتوى بطاقة."),
    "input_too_large": _M("The card's code is too large to be a card.",
                          "رمز البطاقة أكبر من أن يكون بطاقة."),
    "base45_invalid": _M("The card's code is damaged (invalid characters).",
                         "رمز البطاقة تالف (أحرف غير صالحة)."),
    "decompress_failed": _M("The card's code is damaged (it does not unpack).",
                            "رمز البطاقة تالف (تعذّر فك ضغطه)."),
    "payload_too_large": _M("The card's code unpacks to too much data to be a card.",
                            "رمز البطاقة ينتج بيانات أكبر من أن تكون بطاقة."),
    "cbor_invalid": _M("The card's data is malformed.", "بيانات البطاقة مشوّهة."),
    "cbor_duplicate_key": _M("The card's data is malformed (a repeated field).",
                             "بيانات البطاقة مشوّهة (حقل مكرر)."),
    "cbor_too_deep": _M("The card's data is malformed (nested too deeply).",
                        "بيانات البطاقة مشوّهة (تداخل مفرط)."),
    "cbor_too_many_items": _M("The card's data is malformed (too many items).",
                              "بيانات البطاقة مشوّهة (عناصر كثيرة جدًا)."),
    "text_too_long": _M("The card's data is malformed (a text is too long).",
                        "بيانات البطاقة مشوّهة (نص طويل جدًا)."),
    "cose_invalid": _M("The card's signature envelope is malformed.",
                       "غلاف توقيع البطاقة مشوّه."),
    "claims_invalid": _M("The card's signed data is malformed.",
                         "البيانات الموقّعة في البطاقة مشوّهة."),
    # --- signature and keys ---------------------------------------------------------------------
    "verification_failed": _M("The card's signature cannot be trusted.",
                              "لا يمكن الوثوق بتوقيع البطاقة."),
    "alg_missing": _M("The card does not state its signature algorithm.",
                      "لا تذكر البطاقة خوارزمية توقيعها."),
    "alg_unsupported": _M("The card uses a signature algorithm that is not accepted.",
                          "تستخدم البطاقة خوارزمية توقيع غير مقبولة."),
    "alg_key_mismatch": _M("The card's algorithm does not match its signing key (refused).",
                           "خوارزمية البطاقة لا تطابق مفتاح توقيعها (مرفوضة)."),
    "signature_malformed": _M("The card's signature is malformed: the card is not genuine.",
                              "توقيع البطاقة مشوّه: البطاقة غير أصلية."),
    "signature_invalid": _M("The signature does not match: the card is forged or altered.",
                            "التوقيع غير مطابق: البطاقة مزوّرة أو معدّلة."),
    "key_unknown": _M("The card was signed by a key that is not trusted here.",
                      "وُقّعت البطاقة بمفتاح غير موثوق هنا."),
    "decryption_key_missing": _M(
        "The card's data is encrypted and this verifier has no key to read it.",
        "بيانات البطاقة مشفّرة ولا يملك هذا المُتحقِّق مفتاحًا لقراءتها."),
    "decryption_failed": _M(
        "The card's encrypted data cannot be opened: the key is wrong or the card was altered.",
        "تعذّر فتح بيانات البطاقة المشفّرة: المفتاح خاطئ أو البطاقة معدّلة."),
    "encryption_alg_unsupported": _M(
        "The card's data is encrypted with an algorithm that is not accepted.",
        "بيانات البطاقة مشفّرة بخوارزمية غير مقبولة."),
    "key_weak": _M("A trusted key is weak and was refused.",
                   "أحد المفاتيح الموثوقة ضعيف وتم رفضه."),
    "key_off_curve": _M("A trusted key is not a valid P-256 key and was refused.",
                        "أحد المفاتيح الموثوقة ليس مفتاح P-256 صالحًا وتم رفضه."),
    "key_revoked": _M("The card was signed after its centre's key was revoked.",
                      "وُقّعت البطاقة بعد إلغاء مفتاح المركز المُصدِر."),
    "centre_mismatch": _M("The card names another centre than the one that signed it.",
                          "تذكر البطاقة مركزًا غير المركز الذي وقّعها."),
    "key_file_invalid": _M("A key file cannot be read.", "تعذّرت قراءة ملف مفتاح."),
    "passphrase_invalid": _M("The key's passphrase is missing or wrong.",
                             "كلمة مرور المفتاح مفقودة أو خاطئة."),
    "signing_failed": _M("The card could not be signed.", "تعذّر توقيع البطاقة."),
    # --- time -------------------------------------------------------------------------------------
    "validity_error": _M("The card is genuine but not valid at this time.",
                         "البطاقة أصلية لكنها غير صالحة في هذا الوقت."),
    "expired": _M("The card has expired.", "انتهت صلاحية البطاقة."),
    "not_yet_valid": _M("The card is not valid yet.", "البطاقة ليست صالحة بعد."),
    "certificate_expired": _M("The card was signed after its centre's certificate expired.",
                              "وُقّعت البطاقة بعد انتهاء شهادة المركز المُصدِر."),
    "certificate_not_yet_valid": _M(
        "The card was signed before its centre's certificate became valid.",
        "وُقّعت البطاقة قبل بدء صلاحية شهادة المركز المُصدِر."),
    # --- printing and scanning --------------------------------------------------------------------
    "print_mismatch": _M("The printed data does not match the signed data: the print is altered.",
                         "البيانات المطبوعة لا تطابق البيانات الموقّعة: الطباعة معدّلة."),
    "image_invalid": _M("The image cannot be read.", "تعذّرت قراءة الصورة."),
    "barcode_not_found": _M("No card code was found in the image; scan the card flat and sharp.",
                            "لم يُعثر على رمز بطاقة في الصورة؛ امسح البطاقة مسطّحة وواضحة."),
    "several_cards": _M("The image shows more than one card; photograph one card at a time.",
                        "تُظهر الصورة أكثر من بطاقة واحدة؛ صوّر بطاقة واحدة في كل مرة."),
    "decoder_unavailable": _M("The barcode reader is not installed on this machine.",
                              "قارئ الرموز غير مثبّت على هذا الجهاز."),
    "photo_budget": _M("The photo cannot be made small enough for the card.",
                       "تعذّر تصغير الصورة بما يكفي للبطاقة."),
    "qr_too_large": _M("The card's data does not fit in a QR code.",
                       "بيانات البطاقة لا تتسع في رمز QR."),
    "barcode_error": _M("A barcode could not be generated.", "تعذّر إنشاء رمز شريطي."),
    "mrz_invalid": _M("The machine-readable zone is malformed.",
                      "المنطقة المقروءة آليًا مشوّهة."),
    "layout_invalid": _M("The card layout file is malformed.", "ملف تخطيط البطاقة مشوّه."),
    "font_unavailable": _M("A font needed to print cards is not installed.",
                           "خط لازم لطباعة البطاقات غير مثبّت."),
    "record_unprintable": _M("The holder's data does not fit on the printed card.",
                             "بيانات حامل البطاقة لا تتسع في البطاقة المطبوعة."),
    # --- batches ----------------------------------------------------------------------------------
    "batch_error": _M("The batch cannot run.", "تعذّر تشغيل الدفعة."),
    "batch_input_invalid": _M("The batch input file is unusable; nothing was issued.",
                              "ملف إدخال الدفعة غير صالح؛ لم يُصدَر شيء."),
    "batch_busy": _M("Another batch is writing to the same folder.",
                     "دفعة أخرى تكتب في المجلد نفسه."),
    # --- trust data -------------------------------------------------------------------------------
    "certificate_invalid": _M("A certificate is not issued by the national root or is malformed.",
                              "شهادة غير صادرة عن الجذر الوطني أو مشوّهة."),
    "trust_input_invalid": _M("A value given to create trust data is unusable.",
                              "قيمة مُدخلة لإنشاء بيانات الثقة غير صالحة."),
    "trust_list_invalid": _M("The trust list file is damaged or not a trust list.",
                             "ملف قائمة الثقة تالف أو ليس قائمة ثقة."),
    "trust_list_signature_invalid": _M(
        "The trust list is not signed by the national root.",
        "قائمة الثقة غير موقّعة من الجذر الوطني."),
    "trust_list_rollback": _M("The trust list is older than the one already held (refused).",
                              "قائمة الثقة أقدم من القائمة المحفوظة (مرفوضة)."),
    "revocation_input_invalid": _M("A value given to create a revocation list is unusable.",
                                   "قيمة مُدخلة لإنشاء قائمة الإلغاء غير صالحة."),
    "revocation_list_invalid": _M("The revocation list file is damaged or not a revocation list.",
                                  "ملف قائمة الإلغاء تالف أو ليس قائمة إلغاء."),
    "revocation_list_signature_invalid": _M(
        "The revocation list is not signed by the national root.",
        "قائمة الإلغاء غير موقّعة من الجذر الوطني."),
    "revocation_list_rollback": _M(
        "The revocation list is older than the one already held (refused).",
        "قائمة الإلغاء أقدم من القائمة المحفوظة (مرفوضة)."),
    "revocation_delta_base_mismatch": _M(
        "The revocation update does not apply to the list held; load the full list.",
        "تحديث الإلغاء لا ينطبق على القائمة المحفوظة؛ حمّل القائمة الكاملة."),
    "revocation_entries_dropped": _M(
        "The new revocation list leaves out cards revoked in the previous list; nothing was "
        "signed.",
        "قائمة الإلغاء الجديدة تُسقط بطاقات ملغاة في القائمة السابقة؛ لم يُوقَّع شيء."),
    "bundle_invalid": _M("The offline bundle file is damaged or not a bundle.",
                         "ملف حزمة العمل دون اتصال تالف أو ليس حزمة."),
    "state_invalid": _M("The verifier's saved state cannot be read or written.",
                        "تعذّرت قراءة الحالة المحفوظة للمُحقِّق أو كتابتها."),
    # --- registry and sync -----------------------------------------------------------------------
    "registry_error": _M("The issuance registry failed.", "فشل سجل الإصدار."),
    "registry_input_invalid": _M("A value given to the registry is malformed.",
                                 "قيمة مُدخلة إلى السجل مشوّهة."),
    "registry_unavailable": _M("The issuance registry cannot be reached.",
                               "تعذّر الوصول إلى سجل الإصدار."),
    "registry_not_found": _M(
        "No issuance registry exists at this address; check it, or create one with "
        "cardlib registry init.",
        "لا يوجد سجل إصدار بهذا العنوان؛ تحقّق منه، أو أنشئ سجلاً بالأمر "
        "cardlib registry init."),
    "registry_not_ours": _M("The database at this address is not an issuance registry; "
                            "it was left unchanged.",
                            "قاعدة البيانات بهذا العنوان ليست سجل إصدار؛ لم يُغيَّر فيها شيء."),
    "registry_busy": _M("The issuance registry is busy; try again.",
                        "سجل الإصدار مشغول؛ حاول مرة أخرى."),
    "schema_too_new": _M("The registry database is newer than this software.",
                         "قاعدة بيانات السجل أحدث من هذا البرنامج."),
    "document_number_reused": _M("This document number has already been used.",
                                 "رقم الوثيقة هذا مستخدم من قبل."),
    "holder_has_active_card": _M("The holder already has an active card.",
                                 "لدى حامل البطاقة بطاقة سارية بالفعل."),
    "card_not_found": _M("No card with this document number is recorded.",
                         "لا توجد بطاقة مسجلة بهذا الرقم."),
    "card_not_active": _M("The card is already revoked.", "البطاقة ملغاة بالفعل."),
    "card_superseded": _M("The card was already replaced, renewed or corrected.",
                          "تم استبدال البطاقة أو تجديدها أو تصحيحها من قبل."),
    "holder_mismatch": _M("The new card belongs to another holder than the card it replaces.",
                          "البطاقة الجديدة لحامل غير حامل البطاقة التي تحل محلها."),
    "holder_not_found": _M("No card is recorded for this national number.",
                           "لا توجد بطاقة مسجلة لهذا الرقم الوطني."),
    "access_code_malformed": _M(
        "This is not a personal access code: it has 12 letters and digits, e.g. 7KQ4-M2XD-9WPR.",
        "هذا ليس رمز دخول شخصيًا: يتكون الرمز من 12 حرفًا ورقمًا، مثل 7KQ4-M2XD-9WPR."),
    "sync_error": _M("Synchronising with the central registry failed.",
                     "فشلت المزامنة مع السجل المركزي."),
    "sync_batch_invalid": _M("The sync batch is malformed.", "دفعة المزامنة مشوّهة."),
    "sync_batch_tampered": _M("The sync batch was altered in transit; nothing was applied.",
                              "عُدّلت دفعة المزامنة أثناء النقل؛ لم يُطبَّق شيء."),
    "sync_gap": _M("The sync batch starts after the last one applied; export again.",
                   "تبدأ دفعة المزامنة بعد آخر دفعة مطبّقة؛ صدّرها من جديد."),
    "sync_batch_signature_invalid": _M(
        "The sync batch is not validly signed by a centre key; nothing was applied.",
        "دفعة المزامنة غير موقّعة توقيعاً صحيحاً بمفتاح مركز؛ لم يُطبَّق شيء."),
    "sync_signer_untrusted": _M(
        "The sync batch was signed by a key not trusted for this centre; nothing was applied.",
        "وُقّعت دفعة المزامنة بمفتاح غير موثوق لهذا المركز؛ لم يُطبَّق شيء."),
    "sync_batch_foreign_card": _M(
        "The sync batch holds a card of another centre; nothing was applied.",
        "تحتوي دفعة المزامنة على بطاقة لمركز آخر؛ لم يُطبَّق شيء."),
    "sync_registry_unsupported": _M("Sync needs cardlib's SQLite or PostgreSQL registry.",
                                    "تتطلب المزامنة سجل SQLite أو PostgreSQL الخاص بـ cardlib."),
    # --- audit ------------------------------------------------------------------------------------
    "audit_error": _M("The audit log failed.", "فشل سجل التدقيق."),
    "audit_input_invalid": _M("A value given to the audit log is malformed.",
                              "قيمة مُدخلة إلى سجل التدقيق مشوّهة."),
    "audit_unavailable": _M("The audit log cannot be opened or written.",
                            "تعذّر فتح سجل التدقيق أو الكتابة فيه."),
    "audit_busy": _M("The audit log is busy; try again.", "سجل التدقيق مشغول؛ حاول مرة أخرى."),
    "audit_tampered": _M("The audit log has been altered.", "تم العبث بسجل التدقيق."),
    "audit_truncated": _M("The audit log was cut short: it no longer holds the anchor kept "
                          "elsewhere.",
                          "قُطع سجل التدقيق: لم يعد يحتوي نقطة المرجع المحفوظة خارجه."),
    "audit_access_denied": _M("A holder's history needs one of the holder's own document numbers.",
                              "يتطلب سجل حامل البطاقة أحد أرقام وثائقه."),
    # --- hardware security modules ----------------------------------------------------------------
    "hsm_error": _M("The hardware security module failed.", "فشلت وحدة الأمان المادية."),
    "hsm_input_invalid": _M("A value given to the hardware security module is unusable.",
                            "قيمة مُدخلة إلى وحدة الأمان المادية غير صالحة."),
    "hsm_module_unavailable": _M("The hardware security module's library cannot be loaded.",
                                 "تعذّر تحميل مكتبة وحدة الأمان المادية."),
    "hsm_token_not_found": _M("The security token was not found.", "لم يُعثر على رمز الأمان."),
    "hsm_token_in_use": _M("The security token is already in use.", "رمز الأمان قيد الاستخدام."),
    "hsm_pin_invalid": _M("The security token's PIN is wrong.", "الرقم السري لرمز الأمان خاطئ."),
    "hsm_pin_locked": _M("The security token's PIN is locked.", "الرقم السري لرمز الأمان مقفل."),
    "hsm_key_not_found": _M("The signing key was not found on the token.",
                            "لم يُعثر على مفتاح التوقيع في رمز الأمان."),
    "hsm_key_ambiguous": _M("Several keys on the token share that label.",
                            "عدة مفاتيح في رمز الأمان تحمل الاسم نفسه."),
    "hsm_key_exists": _M("A key with that label already exists on the token.",
                         "يوجد مفتاح بهذا الاسم في رمز الأمان."),
    "hsm_key_unsupported": _M("The key on the token is not supported.",
                              "المفتاح في رمز الأمان غير مدعوم."),
    "hsm_key_mismatch": _M("The token's public and private keys do not match.",
                           "المفتاحان العام والخاص في رمز الأمان غير متطابقين."),
    "hsm_sign_failed": _M("The security token could not sign.", "تعذّر التوقيع برمز الأمان."),
    # --- the verification service (verifier_service) -----------------------------------------
    "request_invalid": _M("The request is malformed; see the detail for what to send.",
                          "الطلب غير صحيح؛ راجع التفاصيل لمعرفة ما يجب إرساله."),
    "body_too_large": _M("The request is too large.", "الطلب كبير جدًا."),
    "api_key_required": _M("An API key is required to verify cards here.",
                           "يلزم مفتاح واجهة برمجية للتحقق من البطاقات هنا."),
    "not_available": _M("This document is not available from this service.",
                        "هذه الوثيقة غير متاحة من هذه الخدمة."),
    "api_key_invalid": _M("The API key is not valid (unknown or revoked).",
                          "مفتاح الواجهة البرمجية غير صالح (غير معروف أو ملغى)."),
    "forbidden": _M("This API key's role may not do this.",
                    "لا يسمح دور مفتاح الواجهة البرمجية هذا بهذه العملية."),
    "purpose_required": _M("State the purpose of this verification.",
                           "اذكر الغرض من هذا التحقق."),
    "rate_limited": _M("Too many requests; wait a moment and try again.",
                       "طلبات كثيرة جدًا؛ انتظر قليلًا ثم أعد المحاولة."),
    "not_found": _M("Nothing was found by that name.", "لم يُعثر على شيء بهذا الاسم."),
    "store_unavailable": _M("The service cannot reach its records; try again shortly.",
                            "لا تستطيع الخدمة الوصول إلى سجلاتها؛ أعد المحاولة بعد قليل."),
    "request_timeout": _M("The request took too long to arrive; send it again.",
                          "استغرق وصول الطلب وقتًا طويلًا؛ أرسله مرة أخرى."),
    "signing_key_unavailable": _M(
        "This service cannot sign revocation lists; publish a list signed elsewhere.",
        "لا تستطيع هذه الخدمة توقيع قوائم الإلغاء؛ انشر قائمة موقّعة في مكان آخر."),
    "upload_unsupported": _M(
        "The file is not a PNG, JPEG or WebP image or a PDF; send the card's photo or scan in "
        "one of these formats.",
        "الملف ليس صورة PNG أو JPEG أو WebP ولا ملف PDF؛ أرسل صورة البطاقة أو مسحها الضوئي "
        "بإحدى هذه الصيغ."),
    "pdf_invalid": _M("The PDF cannot be read: it is damaged or protected by a password.",
                      "تعذّرت قراءة ملف PDF: إنه تالف أو محمي بكلمة مرور."),
    "pdf_too_many_pages": _M("The PDF has too many pages; send only the pages that show the "
                             "card.",
                             "يحتوي ملف PDF على صفحات كثيرة جدًا؛ أرسل الصفحات التي تظهر فيها "
                             "البطاقة فقط."),
    "access_code_wrong": _M("The personal access code does not match this card's holder.",
                            "رمز الدخول الشخصي لا يطابق حامل هذه البطاقة."),
    "holder_view_unavailable": _M(
        "This service cannot open card histories; it shows only what the card says.",
        "لا تستطيع هذه الخدمة فتح سجل البطاقات؛ تعرض فقط ما تقوله البطاقة."),
}

CATALOGUE: Final = MappingProxyType(_CATALOGUE)


#: The texts of a valid verdict: with revocation checked, and under a policy without revocation.
VALID_MESSAGES: Final = ("valid", "valid_no_revocation", "valid_print_checked",
                         "valid_print_not_checked", "valid_no_revocation_print_checked",
                         "valid_no_revocation_print_not_checked")


def message_for(code: str | None) -> Message:
    """The catalogue text for ``code`` (``None`` means a valid card); an unknown code (a
    subclass declared by an embedder) falls back to the root's text."""
    return _CATALOGUE.get("valid" if code is None else code, _CATALOGUE["card_error"])
