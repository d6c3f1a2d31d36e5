// The holder's own page: their card as signed and, with their personal access code, the
// registry's history of their cards and every check of them by an agency. Plain ES2020, nothing
// from another origin (what it shares with the clerk's page is in shared.js). It talks to this
// service only, and never puts the code or the card's text in the address or in storage:
//   POST /v1/me            {"payload", "access_code"}: the card, its history, who checked it
//   POST /v1/verify/image  a photo, scan or PDF (uploaded, or camera frames without
//                          BarcodeDetector), for the QR code's text the service read in it

import {
  VERDICTS, Work, answer, el, outcomeViews, phrase, post, problemView, purposeWords, readCards,
  refusal, resultView, startLanguage, t, when,
} from "/shared.js";

// The holder's page's own words (shared.js has the rest), in both languages.
const WORDS = {
  ar: {
    title: "سجلّ بطاقتي",
    intro: "اعرف ما تقوله بطاقتك، وبرمز الدخول الشخصي أيضًا سجلّ بطاقاتك ومن تحقّق من بطاقتك ومتى ولأي غرض.",
    footer: "لا تحفظ هذه الصفحة رمزك ولا بيانات بطاقتك، ولا تضعها في عنوان الصفحة.",
    toClerk: "صفحة الموظفين للتحقق من البطاقات",
    codeTitle: "رمز الدخول الشخصي",
    codeLabel: "رمز الدخول الشخصي، من إيصال إصدار البطاقة (غير مطبوع على البطاقة)",
    codeFormat: "12 حرفًا ورقمًا، مثل",
    codeWhy: "اختياري: بدونه ترى ما تقوله البطاقة فقط. سجلّ بطاقاتك وقائمة من تحقّق منها يحتاجان إلى الرمز.",
    pasteSubmit: "افتح سجلّي",
    problemTitle: "لم يُفتح السجل",
    opening: "جارٍ فتح السجل…",
    answerRegion: "سجلّ بطاقتك",
    needCode: "سجلّ بطاقاتك وقائمة من تحقّق من بطاقتك يحتاجان إلى رمز الدخول الشخصي: أدخله في خانته ثم اقرأ بطاقتك مرة أخرى.",
    notAuthentic: "هذه ليست بطاقة أصلية، فلا يُفتح لها سجلّ.",
    notOpened: "رُفضت هذه البطاقة (انظر أعلاه)، فلا يُفتح بها سجلّ.",
    imageNoText: "لا تقرأ هذه الخدمة صور البطاقات لمن لا يملك مفتاح جهة. الصق نص الرمز بدلًا من ذلك: يقرؤه لك تطبيق قارئ الرموز في هاتفك.",
    hint_access_code_wrong: "تحقّق من الرمز في إيصال الإصدار؛ لا يهم حجم الحروف ولا المسافات والشرطات. لا يُعاد تعيين رمز مفقود إلا في مركز إصدار وبحضورك.",
    hint_access_code_malformed: "انسخ الرمز كما هو في إيصال الإصدار.",
    hint_rate_limited: "لحماية سجلّك لا يُسمح إلا بمحاولات قليلة في الساعة.",
    historyTitle: "سجلّ بطاقاتك",
    noHistory: "لا يحوي سجلّ الإصدار أي حدث عن بطاقاتك.",
    ev_issue: "صدرت البطاقة",
    ev_replacement: "صدرت بطاقة بديلة",
    ev_renewal: "جُدّدت البطاقة",
    ev_correction: "صدرت بطاقة بعد تصحيح البيانات",
    ev_revocation: "أُلغيت البطاقة",
    ev_other: "حدث آخر",
    hAt: "التاريخ",
    hReplaces: "بدلًا من البطاقة",
    hReason: "سبب الإلغاء",
    eventsTitle: "من تحقّق من بطاقتك",
    newestFirst: "الأحدث أولًا.",
    noEvents: "لم يتحقق أحد من هذه البطاقة بعد.",
    eAgency: "الجهة",
    eAt: "الوقت",
    ePurpose: "الغرض",
    eOutcome: "النتيجة",
    purposeNone: "لم يُذكر",
    close: "إغلاق السجل ومسح الرمز",
  },
  en: {
    title: "My card's record",
    intro: "See what your card says and, with your personal access code, the history of your cards and who checked your card, when and why.",
    footer: "This page keeps neither your code nor your card's data, and never puts them in the address.",
    toClerk: "Clerks' page for checking cards",
    codeTitle: "Personal access code",
    codeLabel: "Personal access code, from your card's issuance receipt (not printed on the card)",
    codeFormat: "12 letters and digits, for example",
    codeWhy: "Optional: without it you see only what the card says. The history of your cards and the list of who checked it need the code.",
    pasteSubmit: "Open my record",
    problemTitle: "Record not opened",
    opening: "Opening the record…",
    answerRegion: "Your card's record",
    needCode: "The history of your cards and the list of who checked your card need your personal access code: enter it in its box, then read your card again.",
    notAuthentic: "This is not an authentic card, so no record is opened for it.",
    notOpened: "This card was refused (see above), so no record is opened with it.",
    imageNoText: "This service reads card photos only for agencies with a key. Paste the code's text instead: a code reader app on your phone can read it for you.",
    hint_access_code_wrong: "Check the code on your issuance receipt; capitals, spaces and hyphens do not matter. A lost code is reset only at an issuing centre, in person.",
    hint_access_code_malformed: "Copy the code exactly as it stands on your issuance receipt.",
    hint_rate_limited: "To protect your record, only a few tries are allowed each hour.",
    historyTitle: "History of your cards",
    noHistory: "The issuance registry holds no event about your cards.",
    ev_issue: "Card issued",
    ev_replacement: "Replacement card issued",
    ev_renewal: "Card renewed",
    ev_correction: "Card issued with corrected data",
    ev_revocation: "Card revoked",
    ev_other: "Other event",
    hAt: "Date",
    hReplaces: "In place of card",
    hReason: "Reason for revocation",
    eventsTitle: "Who checked your card",
    newestFirst: "Newest first.",
    noEvents: "No one has checked this card yet.",
    eAgency: "Agency",
    eAt: "Date and time",
    ePurpose: "Purpose",
    eOutcome: "Outcome",
    purposeNone: "not stated",
    close: "Close the record and clear the code",
  },
};
const HISTORY_EVENTS = new Set(["issue", "replacement", "renewal", "correction", "revocation"]);

const $ = (id) => document.getElementById(id);
const ui = { code: $("access-code"), payload: $("payload"), pasteForm: $("paste-form"),
  busy: $("busy"), answer: $("answer") };

const state = {
  shown: null, // {outcome, withCode}: what the answer region shows, re-drawn in a new language
};
const work = new Work(ui.busy, ui.answer);

// --- talking to the service ----------------------------------------------------------------

// The holder's record for a card's text, with the code in its box (or none).
async function openRecord(text) {
  const code = ui.code.value.trim();
  const outcome = await post("/v1/me", JSON.stringify({ payload: text, access_code: code || null }),
    { "Content-Type": "application/json" });
  show({ outcome, withCode: Boolean(code) });
}

// The QR code's text in what /v1/verify/image answered (a card image, or a PDF's pages).
function qrText(json) {
  if (!json || typeof json !== "object") return null;
  const scans = [json.scan, ...(Array.isArray(json.pages) ? json.pages.map((page) => page.scan) : [])];
  for (const scan of scans) {
    for (const code of (scan && scan.barcodes) || []) {
      if (code.format === "qr" && typeof code.text === "string" && code.text) return code.text;
    }
  }
  return null;
}

// A card image's answer: its QR text opens the record. Without one, the service's refusal
// (no card in the image, a file it cannot read), or, where it reads images only for agencies
// (or withholds the text from a caller without a key), a word on pasting the text instead.
async function fromImage(outcome) {
  const text = qrText(outcome.json);
  if (text) return openRecord(text);
  const json = outcome.json;
  const keyed = json && ["api_key_required", "api_key_invalid", "forbidden"].includes(json.code);
  const found = json && (VERDICTS.includes(json.status) || Array.isArray(json.pages));
  show({ outcome: keyed || found ? { failure: "imageNoText" } : outcome, withCode: false });
}

// --- the answer ---------------------------------------------------------------------------

function show(shown) {
  state.shown = shown;
  render(true);
}

function clearAll() {
  state.shown = null;
  ui.answer.replaceChildren();
  ui.code.value = "";
  ui.payload.value = "";
  ui.code.removeAttribute("aria-invalid");
  ui.code.focus();
}

function render(focus) {
  const shown = state.shown;
  if (!shown) return;
  const { outcome, withCode } = shown;
  const code = outcome.json && outcome.json.code;
  const codeRefused = code === "access_code_wrong" || code === "access_code_malformed";
  if (codeRefused) ui.code.setAttribute("aria-invalid", "true");
  else ui.code.removeAttribute("aria-invalid");
  const views = outcomeViews(outcome, (json) => {
    if (json.result && VERDICTS.includes(json.result.status)) return recordViews(json, withCode);
    if (json.status === "error" && json.message && WORDS.en[`hint_${code}`]) {
      return [problemView(phrase(refusal(outcome)), json.detail, null, t(`hint_${code}`))];
    }
    return null;
  });
  const close = el("button", { type: "button", class: "again" }, t("close"));
  close.addEventListener("click", clearAll);
  answer(ui.answer, [...views, close], focus);
}

function recordViews(json, withCode) {
  const result = json.result;
  const views = [resultView(result, null, false)];
  if (Array.isArray(json.history)) {
    views.push(historyView(json.history), eventsView(json.access_events || []));
  } else {
    const authentic = result.card && result.card.record;
    const note = !withCode ? "needCode" : authentic ? "notOpened" : "notAuthentic";
    views.push(el("p", { class: "note" }, t(note)));
  }
  return views;
}

function facts(...pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, value]) => value)
    .flatMap(([label, value]) => [el("dt", {}, t(label)), el("dd", {}, value)]));
}

function historyView(history) {
  const items = history.map((entry) => el("li", {},
    el("p", { class: "what" }, t(HISTORY_EVENTS.has(entry.event) ? `ev_${entry.event}` : "ev_other")),
    facts(["f_document_number", el("bdi", { dir: "ltr" }, entry.document_number)],
      ["hAt", when(entry.at)],
      ["hReplaces", entry.replaces && el("bdi", { dir: "ltr" }, entry.replaces)],
      ["hReason", entry.reason && t(`reason_${entry.reason}`)])));
  return el("section", { class: "panel record history", "aria-labelledby": "history-title" },
    el("h2", { id: "history-title" }, t("historyTitle")),
    items.length ? [el("p", { class: "hint" }, t("newestFirst")), el("ol", { class: "entries" }, items)]
      : el("p", {}, t("noHistory")));
}

function eventsView(events) {
  const items = events.map((event) => el("li", { class: `o-${event.status}` }, facts(
    ["eAgency", el("bdi", {}, event.agency)],
    ["eAt", when(event.at)],
    ["ePurpose", event.purpose ? el("bdi", {}, purposeWords(event.purpose)) : t("purposeNone")],
    ["eOutcome", t(`verdict_${event.status}`)])));
  return el("section", { class: "panel record looks", "aria-labelledby": "events-title" },
    el("h2", { id: "events-title" }, t("eventsTitle")),
    items.length ? [el("p", { class: "hint" }, t("newestFirst")), el("ol", { class: "entries" }, items)]
      : el("p", { class: "none" }, t("noEvents")));
}

// --- start ----------------------------------------------------------------------------------

function start() {
  startLanguage(WORDS, () => render(false));
  readCards({
    ready: () => !work.now,
    text: (text) => work.run(() => openRecord(text)),
    file: (file) => work.run(async () => fromImage(await post("/v1/verify/image", file,
      { "Content-Type": file.type || "application/octet-stream" }))),
    frame: (still) => post("/v1/verify/image", still, { "Content-Type": "image/jpeg" }),
    answer: (outcome) => work.run(() => fromImage(outcome)),
    failure: (key, focus) => {
      state.shown = { outcome: { failure: key }, withCode: false };
      render(focus);
    },
  });
  ui.code.addEventListener("keydown", (event) => {
    // Enter in the code's box opens the record of the card text already pasted.
    if (event.key === "Enter" && !event.isComposing && ui.payload.value.trim()) {
      event.preventDefault();
      ui.pasteForm.requestSubmit();
    }
  });
}

start();
