// The clerk's verification page: plain ES2020, no framework, no build step, nothing from
// another origin (what it shares with the holder's page is in shared.js). It talks to this
// service only:
//   GET  /v1/status        whether to ask for an API key and a purpose; edge state; list ages
//   POST /v1/verify        the QR code's text (camera with BarcodeDetector, or pasted)
//   POST /v1/verify/image  a photo, scan or PDF (uploaded, or camera frames without BarcodeDetector)

import {
  VERDICTS, Work, age, answer, el, outcomeViews, phrase, post, problemView, readCards, refusal,
  resultView, say, startLanguage, t, when,
} from "/shared.js";

const KEY_STORE = "cardlib.apiKey"; // sessionStorage: the agency key, gone when the tab closes
const STATUS_EVERY_MS = 60000; // how often the service's status is asked again
const RETRY_STATUS_MS = 10000; // ... while the service cannot be reached
const MAX_PURPOSE = 128; // the service's limit (verifier_service/_gate.py)

// The clerk's own words (shared.js has the rest), in both languages.
const WORDS = {
  ar: {
    title: "التحقق من بطاقة الهوية",
    logout: "تسجيل الخروج",
    footer: "لا تحفظ هذه الصفحة بيانات أي بطاقة. يبقى مفتاح الجهة في هذه النافذة فقط حتى إغلاقها.",
    toMe: "لحامل البطاقة: سجلّ بطاقتك ومن تحقّق منها",
    loginTitle: "تسجيل الدخول",
    loginHelp: "هذه الخدمة لا تتحقق إلا لجهة معتمدة. أدخل مفتاح جهتك كما سلّمه لك مسؤول النظام.",
    apiKey: "مفتاح الجهة",
    signIn: "دخول",
    signingIn: "جارٍ التحقق من المفتاح…",
    errKeyEmpty: "أدخل مفتاح الجهة أولًا.",
    purposeTitle: "الغرض من التحقق",
    purpose: "الغرض",
    purposeChoose: "— اختر الغرض —",
    purposeOther: "غرض آخر (اكتبه في الخانة التالية)",
    purposeText: "تفاصيل الغرض (اختياري، ومطلوب للغرض الآخر)",
    errPurpose: "اختر الغرض من هذا التحقق أولًا؛ تطلب الخدمة ذكره.",
    errPurposeOther: "اكتب الغرض في خانة التفاصيل.",
    pasteSubmit: "تحقّق",
    problemTitle: "لم يتم التحقق",
    checking: "جارٍ التحقق…",
    answerRegion: "نتيجة التحقق",
    another: "تحقّق من بطاقة أخرى",
    pageCaption: "الصفحة {n}",
    documentTitle: "عدد صفحات المستند: {n}",
    svcLoading: "جارٍ الاتصال بخدمة التحقق…",
    svcUnreachable: "تعذّر الوصول إلى خدمة التحقق. ستُعاد المحاولة تلقائيًا.",
    svcFresh: "بيانات الإلغاء محدّثة (صدرت قبل {age}).",
    svcStale: "بيانات الإلغاء قديمة (صدرت قبل {age}): لا يمكن تأكيد البطاقات حتى تُحدَّث.",
    svcNoRevocation: "لا تملك الخدمة قائمة إلغاء: لا يمكن تأكيد البطاقات.",
    edgeLine: "عقدة طرفية. الخدمة المركزية: {reach}. آخر مزامنة: {when}.",
    upReachable: "متصلة",
    upUnreachable: "غير متصلة (العمل دون اتصال)",
    upUntried: "لم تُجرَّب بعد",
    never: "لم تتم بعد",
  },
  en: {
    title: "ID card check",
    logout: "Sign out",
    footer: "This page keeps no card data. The agency key stays in this tab only, until it is closed.",
    toMe: "For card holders: your own card's record and who checked it",
    loginTitle: "Sign in",
    loginHelp: "This service verifies cards for approved agencies only. Enter your agency's key as the system administrator gave it to you.",
    apiKey: "Agency key",
    signIn: "Sign in",
    signingIn: "Checking the key…",
    errKeyEmpty: "Enter the agency key first.",
    purposeTitle: "Purpose of the check",
    purpose: "Purpose",
    purposeChoose: "— choose the purpose —",
    purposeOther: "Other (write it in the next box)",
    purposeText: "Details (optional; needed for Other)",
    errPurpose: "Choose the purpose of this check first; the service asks for it.",
    errPurposeOther: "Write the purpose in the details box.",
    pasteSubmit: "Verify",
    problemTitle: "Not checked",
    checking: "Checking…",
    answerRegion: "Verification result",
    another: "Check another card",
    pageCaption: "Page {n}",
    documentTitle: "Pages in the document: {n}",
    svcLoading: "Connecting to the verification service…",
    svcUnreachable: "The verification service cannot be reached. Trying again automatically.",
    svcFresh: "Revocation data up to date (issued {age} ago).",
    svcStale: "Revocation data stale (issued {age} ago): cards cannot be confirmed until it is updated.",
    svcNoRevocation: "The service holds no revocation list: cards cannot be confirmed.",
    edgeLine: "Edge node. Central service: {reach}. Last synced: {when}.",
    upReachable: "reachable",
    upUnreachable: "unreachable (working offline)",
    upUntried: "not tried yet",
    never: "never",
  },
};

const $ = (id) => document.getElementById(id);
const ui = {
  logout: $("logout"), service: $("service"), login: $("login"), loginForm: $("login-form"),
  apiKey: $("api-key"), loginError: $("login-error"), work: $("work"),
  purposeBox: $("purpose-box"), purpose: $("purpose"), purposeText: $("purpose-text"),
  purposeError: $("purpose-error"), cameraStart: $("camera-start"), payload: $("payload"),
  busy: $("busy"), answer: $("answer"),
};

const state = {
  status: null, // GET /v1/status, once it answered
  unreachable: false, // the last status request failed
  lists: [], // the freshest list ages seen (status or a verification answer)
  upstream: null, // {reachable, synced_at} at an edge node
  shown: null, // what the answer region shows, re-drawn when the language changes
};
const work = new Work(ui.busy, ui.answer);
let reader = null; // the card readers (readCards)

// --- the service's status ----------------------------------------------------------------

async function loadStatus() {
  let next = STATUS_EVERY_MS;
  try {
    const response = await fetch("/v1/status", { cache: "no-store", credentials: "omit" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const status = await response.json();
    state.status = status;
    state.unreachable = false;
    state.lists = Array.isArray(status.lists) ? status.lists : [];
    state.upstream = status.upstream;
  } catch {
    state.unreachable = true;
    next = RETRY_STATUS_MS;
  }
  renderService();
  showScreens();
  setTimeout(loadStatus, next);
}

function noteUpstream(headers) {
  const reachable = headers.get("X-Upstream-Reachable");
  if (reachable === null) return;
  const synced = headers.get("X-Upstream-Synced-At");
  state.upstream = {
    reachable: reachable === "true" ? true : reachable === "false" ? false : null,
    synced_at: synced && synced !== "never" ? synced : null,
  };
}

function renderService() {
  const node = ui.service;
  let warn = false;
  const parts = [];
  if (state.unreachable) {
    parts.push(t("svcUnreachable"));
    warn = true;
  } else if (!state.status) {
    parts.push(t("svcLoading"));
  } else {
    if (state.status.edge && state.upstream) {
      const up = state.upstream;
      const reach = up.reachable === true ? "upReachable"
        : up.reachable === false ? "upUnreachable" : "upUntried";
      warn = up.reachable !== true;
      parts.push(t("edgeLine", { reach: t(reach), when: up.synced_at ? when(up.synced_at) : t("never") }));
    }
    const revocations = state.lists.find((item) => item.kind === "revocation_list");
    if (!revocations) {
      parts.push(t("svcNoRevocation"));
      warn = true;
    } else if (revocations.stale) {
      parts.push(t("svcStale", { age: age(revocations.age_seconds) }));
      warn = true;
    } else {
      parts.push(t("svcFresh", { age: age(revocations.age_seconds) }));
    }
  }
  node.textContent = parts.join(" ");
  node.classList.toggle("warn", warn);
}

function signedIn() {
  try {
    return sessionStorage.getItem(KEY_STORE);
  } catch {
    return null;
  }
}

function showScreens() {
  const needKey = Boolean(state.status) && !state.status.anonymous && !signedIn();
  const wasHidden = ui.login.hidden;
  ui.login.hidden = !needKey;
  ui.work.hidden = needKey;
  ui.logout.hidden = !signedIn();
  ui.purposeBox.hidden = !(state.status && state.status.require_purpose);
  if (needKey && wasHidden) ui.apiKey.focus();
}

// --- sign in and out ----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const token = ui.apiKey.value.trim();
  if (!token) {
    say(ui.loginError, "errKeyEmpty");
    ui.apiKey.focus();
    return;
  }
  say(ui.loginError, "signingIn");
  // The key is tried on POST /v1/verify with an empty JSON object: a key the service accepts
  // is answered 400 (no payload, or no purpose yet), one it refuses 401. No card is looked at.
  const outcome = await send("/v1/verify", "{}", "application/json", { "X-API-Key": token });
  if (outcome.failure) {
    say(ui.loginError, outcome.failure);
  } else if (outcome.http === 400) {
    try {
      sessionStorage.setItem(KEY_STORE, token);
    } catch {
      say(ui.loginError, "errUnexpected");
      return;
    }
    ui.apiKey.value = "";
    say(ui.loginError, null);
    showScreens();
    (ui.purposeBox.hidden ? ui.cameraStart : ui.purpose).focus();
  } else if (outcome.json && outcome.json.message) {
    say(ui.loginError, refusal(outcome));
    ui.apiKey.select();
  } else {
    say(ui.loginError, { key: "errUnexpected", args: { status: outcome.http } });
  }
}

function signOut() {
  reader.stop();
  try {
    sessionStorage.removeItem(KEY_STORE);
  } catch {
    // nothing kept
  }
  clearAnswer();
  ui.payload.value = "";
  showScreens();
  ui.apiKey.focus();
}

// --- the purpose ---------------------------------------------------------------------------

function purpose() {
  const choice = ui.purpose.value;
  const text = ui.purposeText.value.trim();
  const stated = choice === "other" || !choice ? text : text ? `${choice}: ${text}` : choice;
  return stated.slice(0, MAX_PURPOSE);
}

// True when a verification may go: the purpose is stated where the service asks for one.
function purposeReady() {
  if (!state.status || !state.status.require_purpose) return true;
  if (purpose()) {
    say(ui.purposeError, null);
    return true;
  }
  const other = ui.purpose.value === "other";
  say(ui.purposeError, other ? "errPurposeOther" : "errPurpose");
  (other ? ui.purposeText : ui.purpose).focus();
  return false;
}

// --- talking to the service ----------------------------------------------------------------

// One request with the agency's key and the purpose, when there are: post()'s outcome.
async function send(path, body, type, extra) {
  const headers = { "Content-Type": type, ...extra };
  const key = signedIn();
  if (key && !headers["X-API-Key"]) headers["X-API-Key"] = key;
  const stated = purpose();
  if (stated) headers["X-Purpose"] = encodeURIComponent(stated); // UTF-8, percent-encoded
  const outcome = await post(path, body, headers);
  if (outcome.headers) noteUpstream(outcome.headers);
  return outcome;
}

async function verify(path, body, type) {
  if (work.now || !purposeReady()) return;
  await work.run(async () => present(await send(path, body, type)));
}

// Shows what the service answered: a verdict, a PDF's pages, a refusal or a failure.
function present(outcome) {
  const json = outcome.json;
  if (json && Array.isArray(json.lists) && json.lists.length) state.lists = json.lists;
  if (json && json.status === "error") {
    if (json.code === "api_key_required" || json.code === "api_key_invalid") {
      // The key was revoked meanwhile, or anonymous checks were turned off: sign in again.
      try {
        sessionStorage.removeItem(KEY_STORE);
      } catch {
        // nothing kept
      }
      if (state.status) state.status.anonymous = false;
      clearAnswer();
      showScreens();
      say(ui.loginError, refusal(outcome));
      renderService();
      return;
    }
    if (json.code === "purpose_required" && state.status) {
      state.status.require_purpose = true;
      showScreens();
    }
  }
  state.shown = outcome;
  renderService();
  renderShown(true);
}

// --- the answer ---------------------------------------------------------------------------

function clearAnswer() {
  state.shown = null;
  ui.answer.replaceChildren();
}

function renderShown(focus) {
  const outcome = state.shown;
  if (!outcome) return;
  const views = outcomeViews(outcome, (json) => (VERDICTS.includes(json.status)
    ? [resultView(json, null)] : Array.isArray(json.pages) ? pagesView(json) : null));
  const again = el("button", { type: "button", class: "again" }, t("another"));
  again.addEventListener("click", () => {
    clearAnswer();
    ui.cameraStart.focus();
  });
  answer(ui.answer, [...views, again], focus);
}

function pagesView(json) {
  const pages = json.pages;
  const views = [];
  if (json.status === "error") views.push(problemView(phrase(json.message), json.detail));
  views.push(el("p", { class: "pages-title" }, t("documentTitle", { n: pages.length })));
  for (const page of pages) {
    const caption = t("pageCaption", { n: page.page });
    // A page with a card gets its verdict; one without (a card's front, a cover letter) a line.
    views.push(VERDICTS.includes(page.status) ? resultView(page, caption)
      : el("p", { class: "page-line" }, `${caption}: ${phrase(page.message || {})}`));
  }
  return views;
}

// --- start ----------------------------------------------------------------------------------

function start() {
  startLanguage(WORDS, () => {
    renderService();
    renderShown(false);
  });
  ui.logout.addEventListener("click", signOut);
  ui.loginForm.addEventListener("submit", signIn);
  ui.purpose.addEventListener("change", () => say(ui.purposeError, null));
  reader = readCards({
    ready: () => !work.now && purposeReady(),
    text: (text) => verify("/v1/verify", text, "text/plain"),
    file: (file) => verify("/v1/verify/image", file, file.type || "application/octet-stream"),
    frame: (still) => send("/v1/verify/image", still, "image/jpeg"),
    answer: present,
    failure: (key, focus) => {
      state.shown = { failure: key };
      renderShown(focus);
    },
  });
  loadStatus();
}

start();
