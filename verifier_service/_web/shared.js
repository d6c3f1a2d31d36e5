// What the clerk's page (clerk.js, at /) and the holder's own page (me.js, at /me) share: the
// words both say, in Arabic and English, and the language switch; requests to this service; a
// verdict and the card as signed; the three ways a card is read (camera, file, pasted text).
// Plain ES2020, nothing from another origin. Text is set with textContent only (never
// innerHTML): card data never becomes markup.

const LANG_STORE = "cardlib.lang"; // localStorage: the reader's language, and nothing else
const TIMEOUT_MS = 60000; // a request on a poor line may take long, not for ever
const FRAME_EVERY_MS = 1500; // camera without BarcodeDetector: one still frame to the service
const HELP_AFTER_TRIES = 8; // frames without a card before the page gives a hint
const DETECT_EVERY_MS = 250; // camera with BarcodeDetector: frames decoded in the page
const MAX_FRAME_SIDE = 1920; // camera frames sent are scaled down to this
export const VERDICTS = ["valid", "revoked", "unknown", "invalid"];
const ICONS = { valid: "✓", revoked: "✕", unknown: "!", invalid: "✕", error: "?" };
const PHOTO_TYPES = { jpeg: "image/jpeg", avif: "image/avif", webp: "image/webp" };
// card.record fields in the order a clerk reads them; others follow in the answer's order.
const FIELD_ORDER = ["document_number", "national_number", "admin_number", "category",
  "date_of_birth", "sex", "place_of_birth", "nationality", "mother_name_ar",
  "mother_name_latin", "address", "phone", "email", "centre_code", "issue_date", "expiry_date"];
const SHOWN_APART = new Set(["name_ar", "name_latin", "photo", "photo_format"]);
const DATE_FIELDS = new Set(["date_of_birth", "issue_date", "expiry_date"]);
const LTR_FIELDS = new Set(["document_number", "national_number", "admin_number", "phone",
  "email", "centre_code"]);
const NAME_PARTS = ["first", "father", "grandfather", "family"];
const ARABIC = /[\u0600-\u06ff]/;
// The purposes the clerk's page offers (its <select>'s values) -> their words.
const PURPOSES = { banking: "purposeBanking", "health care": "purposeHealth",
  checkpoint: "purposeCheckpoint", "government service": "purposeGovernment",
  telecom: "purposeTelecom", employment: "purposeEmployment" };

// The words both pages say; each page adds its own (startLanguage). Plural units:
// Intl.PluralRules categories.
const SHARED = {
  ar: {
    otherLanguage: "English",
    skip: "انتقل إلى المحتوى",
    purposeBanking: "فتح حساب أو معاملة مصرفية",
    purposeHealth: "خدمة صحية (مستشفى أو عيادة)",
    purposeCheckpoint: "تفتيش أمني أو نقطة عبور",
    purposeGovernment: "خدمة حكومية",
    purposeTelecom: "شريحة أو خدمة اتصالات",
    purposeEmployment: "توظيف",
    waysTitle: "قراءة البطاقة",
    cameraTitle: "الكاميرا",
    cameraHint: "وجّه الكاميرا الخلفية إلى الرمز المربع على ظهر البطاقة.",
    cameraStart: "المسح بالكاميرا",
    cameraStop: "إيقاف الكاميرا",
    camStarting: "جارٍ تشغيل الكاميرا…",
    camDetecting: "ابحث عن الرمز: اجعل ظهر البطاقة يملأ الإطار، ثابتًا وواضحًا.",
    camLooking: "تُرسل صورة كل ثانية ونصف للبحث عن الرمز: اجعل ظهر البطاقة يملأ الإطار، ثابتًا وواضحًا.",
    camHelp: "لم يُعثر على الرمز بعد. قرّب البطاقة وثبّتها، وتجنّب الانعكاس على سطحها.",
    camInsecure: "لا يسمح المتصفح بالكاميرا إلا عبر اتصال آمن أو على هذا الجهاز نفسه. ارفع صورة البطاقة بدلًا من ذلك.",
    camNoSupport: "هذا المتصفح لا يتيح الكاميرا. ارفع صورة البطاقة بدلًا من ذلك.",
    camDenied: "لم يُسمح باستخدام الكاميرا. اسمح بها من إعدادات المتصفح، أو ارفع صورة البطاقة.",
    camNone: "لم يُعثر على كاميرا في هذا الجهاز. ارفع صورة البطاقة بدلًا من ذلك.",
    camFailed: "تعذّر تشغيل الكاميرا. أغلق التطبيقات الأخرى التي تستخدمها ثم أعد المحاولة، أو ارفع صورة البطاقة.",
    uploadTitle: "رفع ملف",
    uploadHint: "صورة أو مسح ضوئي للبطاقة (يكفي ظهرها)، أو مستند بي دي إف.",
    uploadLabel: "اختر صورة أو مسحًا ضوئيًا أو مستندًا",
    pasteTitle: "لصق نص الرمز",
    pasteLabel: "نص الرمز",
    pasteHint: "الصق النص المقروء من رمز البطاقة، أو امسحه بقارئ رموز يدوي في هذه الخانة.",
    errPasteEmpty: "الصق نص رمز البطاقة أولًا.",
    verdict_valid: "البطاقة صالحة",
    verdict_revoked: "البطاقة ملغاة",
    verdict_unknown: "تعذّر التأكيد",
    verdict_invalid: "البطاقة غير صالحة",
    unknownWhy: "تعذّر التأكيد: بيانات الإلغاء قديمة أو غير متوفرة.",
    unknownMeans: "البطاقة أصلية، لكن لا يمكن التأكد من أنها غير ملغاة.",
    revokedReason: "سبب الإلغاء: {reason}",
    revokedAt: "تاريخ الإلغاء: {date}",
    reason_lost: "مفقودة",
    reason_stolen: "مسروقة",
    reason_replaced: "استُبدلت ببطاقة أحدث",
    reason_fraud: "احتيال",
    reason_data_correction: "تصحيح البيانات",
    reasonUnknown: "غير مذكور",
    photoAlt: "صورة حامل البطاقة من البيانات الموقّعة",
    photoUnreadable: "لا يستطيع هذا المتصفح عرض صورة حامل البطاقة.",
    nameAr: "الاسم بالعربية",
    nameLatin: "الاسم بالحروف اللاتينية",
    holderTitle: "بيانات حامل البطاقة (من البيانات الموقّعة)",
    f_document_number: "رقم البطاقة",
    f_national_number: "الرقم الوطني",
    f_admin_number: "الرقم الإداري",
    f_category: "الفئة",
    f_date_of_birth: "تاريخ الميلاد",
    f_sex: "الجنس",
    f_place_of_birth: "مكان الميلاد",
    f_nationality: "الجنسية",
    f_mother_name_ar: "اسم الأم",
    f_mother_name_latin: "اسم الأم بالحروف اللاتينية",
    f_address: "العنوان",
    f_phone: "الهاتف",
    f_email: "البريد الإلكتروني",
    f_centre_code: "مركز الإصدار",
    f_issue_date: "تاريخ الإصدار",
    f_expiry_date: "تاريخ الانتهاء",
    f_other: "حقل آخر",
    v_citizen: "مواطن",
    v_resident: "مقيم",
    v_male: "ذكر",
    v_female: "أنثى",
    checkTitle: "عن هذا التحقق",
    signedBy: "المركز الموقِّع",
    centreUnnamed: "غير مسمّى",
    checkedAt: "وقت التحقق",
    printAgrees: "البيانات المطبوعة",
    printNo: "لا تطابق البيانات الموقّعة",
    printChecked: "فُحصت وتطابق البيانات الموقّعة",
    printNotChecked: "لم تُفحص: لم يُقرأ أي رقم مطبوع",
    el_qr: "رمز QR الموقّع",
    el_code128: "الرمز الشريطي (الوجه الأمامي)",
    el_mrz_numbers: "أرقام منطقة القراءة الآلية",
    el_mrz_name: "الاسم في منطقة القراءة الآلية",
    st_agrees: "يطابق",
    st_disagrees: "لا يطابق",
    st_not_read: "لم يُقرأ",
    otherCards: "بطاقات أخرى",
    otherCardsText: "في الصورة بطاقة أخرى لم تُقارن بهذه البطاقة",
    listsTitle: "حداثة بيانات التحقق",
    list_trust_list: "قائمة المراكز الموثوقة",
    list_revocation_list: "قائمة البطاقات الملغاة",
    listLine: "{kind} رقم {sequence}: صدرت قبل {age}، والتحديث التالي {next}.",
    listFresh: "محدّثة",
    listStale: "قديمة",
    noLists: "لا تملك الخدمة أي قائمة: لا يمكن تأكيد أي بطاقة.",
    technical: "تفاصيل تقنية (للدعم الفني)",
    errNetwork: "تعذّر الوصول إلى خدمة التحقق. تحقّق من الاتصال بالشبكة ثم أعد المحاولة.",
    errTimeout: "لم تُجب خدمة التحقق في الوقت المحدد. تحقّق من الاتصال ثم أعد المحاولة.",
    errUnexpected: "أجابت الخدمة إجابة غير متوقعة (الرمز {status}). أعد المحاولة أو اتصل بالدعم الفني.",
    errRetry: "أعد المحاولة بعد {wait}.",
    justNow: "أقل من دقيقة",
    unit_minute: { zero: "{n} دقيقة", one: "دقيقة واحدة", two: "دقيقتين", few: "{n} دقائق", many: "{n} دقيقة", other: "{n} دقيقة" },
    unit_hour: { zero: "{n} ساعة", one: "ساعة واحدة", two: "ساعتين", few: "{n} ساعات", many: "{n} ساعة", other: "{n} ساعة" },
    unit_day: { zero: "{n} يوم", one: "يوم واحد", two: "يومين", few: "{n} أيام", many: "{n} يومًا", other: "{n} يوم" },
  },
  en: {
    otherLanguage: "العربية",
    skip: "Skip to the content",
    purposeBanking: "Bank account or transaction",
    purposeHealth: "Health care (hospital or clinic)",
    purposeCheckpoint: "Security check or checkpoint",
    purposeGovernment: "Government service",
    purposeTelecom: "SIM card or telecom service",
    purposeEmployment: "Employment",
    waysTitle: "Read the card",
    cameraTitle: "Camera",
    cameraHint: "Point the rear camera at the square code on the back of the card.",
    cameraStart: "Scan with the camera",
    cameraStop: "Stop the camera",
    camStarting: "Starting the camera…",
    camDetecting: "Looking for the code: let the back of the card fill the frame, steady and sharp.",
    camLooking: "A picture is sent every second and a half to look for the code: let the back of the card fill the frame, steady and sharp.",
    camHelp: "No code found yet. Move the card closer, hold it still, and avoid glare on it.",
    camInsecure: "The browser allows the camera only over a secure connection or on this device itself. Upload a photo of the card instead.",
    camNoSupport: "This browser offers no camera. Upload a photo of the card instead.",
    camDenied: "The camera was not allowed. Allow it in the browser's settings, or upload a photo of the card.",
    camNone: "No camera was found on this device. Upload a photo of the card instead.",
    camFailed: "The camera could not be started. Close other apps that use it and try again, or upload a photo of the card.",
    uploadTitle: "Upload a file",
    uploadHint: "A photo or scan of the card (its back is enough), or a PDF document.",
    uploadLabel: "Choose a photo, scan or document",
    pasteTitle: "Paste the code's text",
    pasteLabel: "Code text",
    pasteHint: "Paste the text read from the card's code, or scan it into this box with a handheld code reader.",
    errPasteEmpty: "Paste the text of the card's code first.",
    verdict_valid: "Valid card",
    verdict_revoked: "Revoked card",
    verdict_unknown: "Cannot confirm",
    verdict_invalid: "Invalid card",
    unknownWhy: "Cannot confirm: the revocation data is stale or missing.",
    unknownMeans: "The card is authentic, but whether it was revoked cannot be confirmed.",
    revokedReason: "Reason: {reason}",
    revokedAt: "Revoked on: {date}",
    reason_lost: "lost",
    reason_stolen: "stolen",
    reason_replaced: "replaced by a newer card",
    reason_fraud: "fraud",
    reason_data_correction: "data correction",
    reasonUnknown: "not given",
    photoAlt: "The holder's photo from the signed data",
    photoUnreadable: "This browser cannot show the holder's photo.",
    nameAr: "Name in Arabic",
    nameLatin: "Name in Latin letters",
    holderTitle: "The holder (from the signed data)",
    f_document_number: "Document number",
    f_national_number: "National number",
    f_admin_number: "Administrative number",
    f_category: "Category",
    f_date_of_birth: "Date of birth",
    f_sex: "Sex",
    f_place_of_birth: "Place of birth",
    f_nationality: "Nationality",
    f_mother_name_ar: "Mother's name",
    f_mother_name_latin: "Mother's name in Latin letters",
    f_address: "Address",
    f_phone: "Phone",
    f_email: "E-mail",
    f_centre_code: "Issuing centre",
    f_issue_date: "Issue date",
    f_expiry_date: "Expiry date",
    f_other: "Other field",
    v_citizen: "Citizen",
    v_resident: "Resident",
    v_male: "Male",
    v_female: "Female",
    checkTitle: "About this check",
    signedBy: "Signing centre",
    centreUnnamed: "not named",
    checkedAt: "Checked at",
    printAgrees: "Printed data",
    printNo: "does not agree with the signed data",
    printChecked: "checked: agrees with the signed data",
    printNotChecked: "not checked: no printed number was read",
    el_qr: "Signed QR code",
    el_code128: "Barcode (front)",
    el_mrz_numbers: "MRZ numbers",
    el_mrz_name: "MRZ name",
    st_agrees: "agrees",
    st_disagrees: "disagrees",
    st_not_read: "not read",
    otherCards: "Other cards",
    otherCardsText: "another card is in the picture; it was not compared with this one",
    listsTitle: "How fresh the verification data is",
    list_trust_list: "Trust list",
    list_revocation_list: "Revocation list",
    listLine: "{kind} no. {sequence}: issued {age} ago, next update {next}.",
    listFresh: "up to date",
    listStale: "stale",
    noLists: "The service holds no list: no card can be confirmed.",
    technical: "Technical detail (for support)",
    errNetwork: "The verification service cannot be reached. Check the network connection and try again.",
    errTimeout: "The verification service did not answer in time. Check the connection and try again.",
    errUnexpected: "The service gave an unexpected answer (code {status}). Try again or call support.",
    errRetry: "Try again in {wait}.",
    justNow: "less than a minute",
    unit_minute: { one: "1 minute", other: "{n} minutes" },
    unit_hour: { one: "1 hour", other: "{n} hours" },
    unit_day: { one: "1 day", other: "{n} days" },
  },
};

const $ = (id) => document.getElementById(id);

// --- words --------------------------------------------------------------------------------

let T = SHARED; // the shared words and the page's own
let lang = "ar";
let redraw = () => {}; // the page's own drawing in the new language
const notes = new Map(); // node -> what it says, said again when the language changes

export function t(key, args) {
  const text = T[lang][key] ?? T.en[key] ?? key;
  if (!args) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

// What a node says: a dictionary key, {key, args}, or the service's {en, ar} message.
export function phrase(what) {
  if (typeof what === "string") return t(what);
  if (what.key) return t(what.key, what.args);
  return what[lang] || what.en || "";
}

export function say(node, what) {
  if (what == null) {
    notes.delete(node);
    node.textContent = "";
  } else {
    notes.set(node, what);
    node.textContent = phrase(what);
  }
}

function plural(unit, n, tongue) {
  const forms = T[tongue][`unit_${unit}`];
  const form = forms[new Intl.PluralRules(tongue).select(n)] ?? forms.other;
  return form.replace("{n}", String(n));
}

// A duration in words ("3 hours"), in the page's language or `tongue`.
export function age(seconds, tongue = lang) {
  if (seconds < 60) return T[tongue].justNow;
  if (seconds < 3600) return plural("minute", Math.floor(seconds / 60), tongue);
  if (seconds < 2 * 86400) return plural("hour", Math.floor(seconds / 3600), tongue);
  return plural("day", Math.floor(seconds / 86400), tongue);
}

function locale() {
  return lang === "ar" ? "ar-LY-u-nu-latn" : "en-GB";
}

export function when(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" })
    .format(moment);
}

function day(isoDate) {
  const moment = new Date(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(moment.getTime())) return isoDate;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "long", timeZone: "UTC" }).format(moment);
}

// A purpose as an agency stated it: the clerk's page's choices in words, anything else as sent.
export function purposeWords(stated) {
  const [choice, ...rest] = stated.split(": ");
  const key = PURPOSES[choice];
  if (!key) return stated;
  return rest.length ? `${t(key)}: ${rest.join(": ")}` : t(key);
}

// --- the language ---------------------------------------------------------------------------

// Starts the page's language: the shared words and `own` ({ar, en}), Arabic unless the reader
// chose English before; `onChange` draws the page's own parts again when the language changes.
export function startLanguage(own, onChange) {
  const shadowed = Object.keys(own.en).filter((key) => key in SHARED.en);
  T = { ar: { ...SHARED.ar, ...own.ar }, en: { ...SHARED.en, ...own.en } };
  const ar = Object.keys(T.ar), en = Object.keys(T.en);
  const missing = [...ar.filter((k) => !(k in T.en)), ...en.filter((k) => !(k in T.ar))];
  if (missing.length) console.error(`page: not in both languages: ${missing.join(", ")}`);
  if (shadowed.length) console.error(`page: shared words said again: ${shadowed.join(", ")}`);
  redraw = onChange;
  let stored = null;
  try {
    stored = localStorage.getItem(LANG_STORE);
  } catch {
    // storage off: Arabic
  }
  applyLanguage(stored || "ar");
  $("lang").addEventListener("click", switchLanguage);
}

function applyLanguage(chosen) {
  lang = chosen === "en" ? "en" : "ar";
  const other = lang === "ar" ? "en" : "ar";
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "ar" ? "rtl" : "ltr";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-t-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.tAriaLabel));
  }
  const button = $("lang");
  button.textContent = t("otherLanguage");
  button.lang = other;
  for (const [node, what] of notes) node.textContent = phrase(what);
  redraw();
}

function switchLanguage() {
  const chosen = lang === "ar" ? "en" : "ar";
  try {
    localStorage.setItem(LANG_STORE, chosen);
  } catch {
    // storage may be off (private mode): the switch still works for this page
  }
  applyLanguage(chosen);
}

// --- talking to the service ----------------------------------------------------------------

// One POST: {http, json, retryAfter, headers} or {failure: a dictionary key}. Never throws.
export async function post(path, body, headers) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(path, {
      method: "POST", headers, body, signal: abort.signal, cache: "no-store", credentials: "omit",
    });
    let json = null;
    try {
      json = await response.json();
    } catch {
      json = null;
    }
    return { http: response.status, json, retryAfter: response.headers.get("Retry-After"),
      headers: response.headers };
  } catch (err) {
    return { failure: err && err.name === "AbortError" ? "errTimeout" : "errNetwork" };
  } finally {
    clearTimeout(timer);
  }
}

// One request at a time: while `run(task)` runs, `line` (a "checking…" line) shows and
// `region` (the answer) is marked busy for screen readers; `now`: whether one runs.
export class Work {
  constructor(line, region) {
    this.line = line;
    this.region = region;
    this.now = false;
  }

  async run(task) {
    if (this.now) return;
    this.now = true;
    this.line.hidden = false;
    this.region.setAttribute("aria-busy", "true");
    try {
      await task();
    } finally {
      this.now = false;
      this.line.hidden = true;
      this.region.removeAttribute("aria-busy");
    }
  }
}

// A refusal's message in both languages (what the service said, and when to try again).
export function refusal(outcome) {
  const message = outcome.json.message;
  const wait = Number(outcome.retryAfter);
  if (!wait) return message;
  const rounded = wait < 60 ? wait : Math.ceil(wait / 60) * 60; // 3599 s: "1 hour"
  const retry = (tongue) => T[tongue].errRetry.replace("{wait}", age(rounded, tongue));
  return { ar: `${message.ar} ${retry("ar")}`, en: `${message.en} ${retry("en")}` };
}

// --- the answer ---------------------------------------------------------------------------

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// What an outcome of post() shows: `known(json, outcome)`'s views for the answers the page
// knows, else a failure, a refusal or an unexpected answer, said in words.
export function outcomeViews(outcome, known) {
  const json = outcome.json;
  if (outcome.failure) return [problemView(t(outcome.failure))];
  const views = json && known(json, outcome);
  if (views) return views;
  if (json && json.status === "error" && json.message) {
    return [problemView(phrase(refusal(outcome)), json.detail)];
  }
  return [problemView(t("errUnexpected", { status: outcome.http }))];
}

// Shows `views` in the answer region; `focus`: moves there (a screen reader reads it).
export function answer(region, views, focus) {
  region.replaceChildren(...views);
  if (focus) {
    region.focus({ preventScroll: true });
    region.scrollIntoView({ block: "start", behavior: "smooth" });
  }
}

// A verdict's banner; kind "error": the page's own word for a request that failed (problemTitle).
function banner(kind, caption) {
  const words = t(kind === "error" ? "problemTitle" : `verdict_${kind}`);
  return el("div", { class: "banner" },
    el("span", { class: "icon", "aria-hidden": "true" }, ICONS[kind]),
    el("h2", { class: "verdict-word" }, caption ? `${caption}: ${words}` : words));
}

// A failure or a refusal: `message`, and what the page adds (`more`, a paragraph's text).
export function problemView(message, detail, caption, more) {
  return el("article", { class: "verdict v-error" }, banner("error", caption),
    el("div", { class: "body" }, el("p", { class: "lead" }, message),
      more ? el("p", {}, more) : null, technical(null, detail)));
}

function technical(code, detail) {
  if (!code && !detail) return null;
  return el("details", { class: "technical" }, el("summary", {}, t("technical")),
    el("p", { dir: "ltr", lang: "en" }, [code, detail].filter(Boolean).join(": ")));
}

// A verdict with the card as signed; `lists`: with each list's age (the clerk's concern).
export function resultView(r, caption, lists = true) {
  const body = el("div", { class: "body" });
  if (r.status === "unknown") {
    body.append(el("p", { class: "lead" }, t("unknownWhy")), el("p", {}, t("unknownMeans")));
  }
  if (r.status === "revoked" && r.revocation) {
    const reason = r.revocation.reason;
    body.append(el("p", { class: "lead" }, t("revokedReason", {
      reason: reason ? t(`reason_${reason}`) : t("reasonUnknown") })));
    if (r.revocation.revoked_at) {
      body.append(el("p", {}, t("revokedAt", { date: when(r.revocation.revoked_at) })));
    }
  }
  body.append(el("p", { class: r.status === "invalid" ? "lead" : "message" }, phrase(r.message)));
  const card = r.card || {};
  const holder = holderView(card);
  if (holder) body.append(holder);
  body.append(...[checkView(r), lists && listsView(r.lists || []), technical(r.code, r.detail)]
    .filter(Boolean));
  return el("article", { class: `verdict v-${r.status}` }, banner(r.status, caption), body);
}

function fullName(parts) {
  if (!parts || typeof parts !== "object") return typeof parts === "string" ? parts : "";
  const ordered = NAME_PARTS.filter((part) => parts[part]).map((part) => parts[part]);
  return (ordered.length ? ordered : Object.values(parts)).join(" ");
}

function photoView(record) {
  const type = PHOTO_TYPES[record.photo_format];
  if (typeof record.photo !== "string" || !/^[A-Za-z0-9+/=]+$/.test(record.photo)) return null;
  if (!type) return el("p", { class: "photo-missing" }, t("photoUnreadable"));
  const img = el("img", { class: "photo", alt: t("photoAlt"), src: `data:${type};base64,${record.photo}` });
  img.addEventListener("error", () => img.replaceWith(el("p", { class: "photo-missing" }, t("photoUnreadable"))));
  return img;
}

function holderView(card) {
  const record = card.record || {};
  const claims = card.claims || {};
  const nameAr = fullName(record.name_ar) || (claims.secondary_language === "ara" ? claims.secondary_full_name : "");
  const nameLatin = fullName(record.name_latin) || claims.full_name || "";
  const names = el("dl", { class: "names" },
    nameAr && [el("dt", {}, t("nameAr")),
      el("dd", {}, el("span", { lang: "ar", dir: "rtl", class: "name-ar" }, nameAr))],
    nameLatin && [el("dt", {}, t("nameLatin")),
      el("dd", {}, el("span", { lang: "en", dir: "ltr", class: "name-latin" }, nameLatin))]);
  const fields = el("dl", { class: "fields" });
  const keys = [...FIELD_ORDER.filter((k) => k in record),
    ...Object.keys(record).filter((k) => !FIELD_ORDER.includes(k) && !SHOWN_APART.has(k))];
  for (const key of keys) {
    const value = record[key];
    if (value === null || value === undefined || value === "") continue;
    fields.append(el("dt", {}, T[lang][`f_${key}`] ? t(`f_${key}`) : t("f_other")),
      el("dd", {}, el("bdi", { dir: LTR_FIELDS.has(key) ? "ltr" : null,
        lang: typeof value === "string" && ARABIC.test(value) ? "ar" : null }, fieldValue(key, value))));
  }
  const photo = photoView(record) || photoView({ photo: claims.photo, photo_format: claims.photo_format });
  if (!nameAr && !nameLatin && !fields.childElementCount && !photo) return null;
  return el("section", { class: "holder", "aria-label": t("holderTitle") },
    el("div", { class: "who" }, photo, names), fields.childElementCount ? fields : null);
}

function fieldValue(key, value) {
  if (DATE_FIELDS.has(key) && typeof value === "string") return day(value);
  if (typeof value === "object") return fullName(value);
  if ((key === "category" || key === "sex") && T[lang][`v_${value}`]) return t(`v_${value}`);
  return String(value);
}

function checkView(r) {
  const facts = el("dl", { class: "facts" });
  if (r.signer) {
    facts.append(el("dt", {}, t("signedBy")), el("dd", {}, el("bdi", {}, r.signer.centre || t("centreUnnamed"))));
  }
  if (r.checked_at) facts.append(el("dt", {}, t("checkedAt")), el("dd", {}, when(r.checked_at)));
  if (r.scan && r.scan.elements && Object.keys(r.scan.elements).length) {
    facts.append(el("dt", {}, t("printAgrees")), el("dd", {}, t(r.scan.print_checked ? "printChecked" : r.scan.print_agrees === false ? "printNo" : "printNotChecked")));
    for (const [name, state] of Object.entries(r.scan.elements)) {
      if (!T[lang][`el_${name}`]) continue;
      facts.append(el("dt", { class: "element" }, t(`el_${name}`)),
        el("dd", { class: `element ${state}`, "data-element": name }, t(`st_${state}`) || state));
    }
    const others = (r.scan.other_cards || []).length;
    if (others) facts.append(el("dt", {}, t("otherCards")), el("dd", { class: "other-cards" }, t("otherCardsText")));
  }
  return el("section", { class: "check", "aria-label": t("checkTitle") }, facts);
}

function listsView(lists) {
  const title = el("h3", {}, t("listsTitle"));
  if (!lists.length) return el("section", { class: "lists" }, title, el("p", { class: "stale" }, t("noLists")));
  const items = lists.map((item) => el("li", { class: item.stale ? "stale" : "fresh" },
    el("span", { class: "tag" }, t(item.stale ? "listStale" : "listFresh")), " ",
    t("listLine", { kind: t(`list_${item.kind}`), sequence: item.sequence, age: age(item.age_seconds), next: when(item.next_update) })));
  return el("section", { class: "lists" }, title, el("ul", {}, items));
}

// --- the three ways in --------------------------------------------------------------------

// Wires the page's card readers (the "ways" markup: camera, file, pasted text) to `hooks`:
//   ready()          may a reading start now (nothing under way, the page has what it needs)
//   text(text)       a QR code's text: pasted, or decoded in the page (BarcodeDetector)
//   file(file)       a photo, scan or PDF chosen (a promise)
//   frame(still)     a camera still (JPEG) for the service: a promise of post()'s outcome
//   answer(outcome)  the service found a card, or refused, on a still: the camera has stopped
//   failure(key, focus)  what to say instead (a dictionary key)
// Returns {stop}: stops the camera.
export function readCards(hooks) {
  const ui = {
    cameraStart: $("camera-start"), camera: $("camera"), video: $("video"),
    cameraState: $("camera-state"), cameraStop: $("camera-stop"), file: $("file"),
    pasteForm: $("paste-form"), payload: $("payload"),
  };
  let running = null; // {stream, detector, timer, tries} while the camera runs

  function pasted(event) {
    event.preventDefault();
    const text = ui.payload.value.trim();
    if (!text) {
      hooks.failure("errPasteEmpty", false);
      ui.payload.focus();
      return;
    }
    hooks.text(text);
  }

  function chosen() {
    const file = ui.file.files && ui.file.files[0];
    if (!file) return;
    stop();
    hooks.file(file).finally(() => { ui.file.value = ""; }); // the same file may be chosen again
  }

  function problem(key) {
    stop();
    hooks.failure(key, true);
  }

  async function start() {
    if (running || !hooks.ready()) return;
    if (!window.isSecureContext) return problem("camInsecure");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return problem("camNoSupport");
    say(ui.cameraState, "camStarting");
    ui.camera.hidden = false;
    ui.cameraStart.hidden = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1920 }, height: { ideal: 1080 } },
      });
    } catch (err) {
      const name = err && err.name;
      return problem(name === "NotAllowedError" || name === "SecurityError" ? "camDenied"
        : name === "NotFoundError" || name === "OverconstrainedError" ? "camNone" : "camFailed");
    }
    const detector = await qrDetector();
    const camera = { stream, detector, timer: 0, tries: 0 };
    running = camera;
    ui.video.srcObject = stream;
    try {
      await ui.video.play();
    } catch {
      // muted inline video plays without a gesture; a frame is read once it has one
    }
    say(ui.cameraState, detector ? "camDetecting" : "camLooking");
    ui.cameraStop.focus();
    camera.timer = setTimeout(() => look(camera), detector ? DETECT_EVERY_MS : FRAME_EVERY_MS);
  }

  function stop() {
    const camera = running;
    running = null;
    ui.camera.hidden = true;
    ui.cameraStart.hidden = false;
    say(ui.cameraState, null);
    if (!camera) return;
    clearTimeout(camera.timer);
    for (const track of camera.stream.getTracks()) track.stop();
    ui.video.srcObject = null;
  }

  function frame() {
    const video = ui.video;
    const width = video.videoWidth, height = video.videoHeight;
    if (!width || !height) return Promise.resolve(null);
    const scale = Math.min(1, MAX_FRAME_SIDE / Math.max(width, height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  }

  // One look through the camera: decode here (BarcodeDetector) or send a still to the service.
  async function look(camera) {
    if (running !== camera) return;
    if (camera.detector) {
      let codes = [];
      try {
        if (ui.video.readyState >= 2) codes = await camera.detector.detect(ui.video);
      } catch {
        codes = [];
      }
      if (running !== camera) return;
      const text = codes.map((code) => code.rawValue).find(Boolean);
      if (text) {
        stop();
        hooks.text(text);
        return;
      }
      camera.timer = setTimeout(() => look(camera), DETECT_EVERY_MS);
      return;
    }
    const still = await frame();
    if (still && running === camera) {
      const outcome = await hooks.frame(still);
      if (running !== camera) return; // stopped meanwhile: the answer is dropped
      const json = outcome.json;
      if (outcome.failure || !json || json.status !== "error" || json.code !== "barcode_not_found") {
        stop();
        hooks.answer(outcome);
        return;
      }
      camera.tries += 1;
      if (camera.tries === HELP_AFTER_TRIES) say(ui.cameraState, "camHelp"); // said once, not per frame
    }
    if (running === camera) camera.timer = setTimeout(() => look(camera), FRAME_EVERY_MS);
  }

  ui.pasteForm.addEventListener("submit", pasted);
  ui.payload.addEventListener("keydown", (event) => {
    // A handheld code reader types the text and Enter: Enter submits (Shift+Enter: new line).
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.pasteForm.requestSubmit();
    }
  });
  ui.file.addEventListener("change", chosen);
  ui.cameraStart.addEventListener("click", start);
  ui.cameraStop.addEventListener("click", () => {
    stop();
    ui.cameraStart.focus();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) stop(); // no camera left running behind another tab
  });
  return { stop };
}

async function qrDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}
