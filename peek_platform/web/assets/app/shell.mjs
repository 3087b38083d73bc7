// Peek field and office app shell: keeps the connection status line current, registers the
// service worker that keeps the app for offline use, and forgets this browser's copy of the
// user's data when they log out (docs/admin/offline-data.rst).
//
// The status comes from the site's GET /health (see docs/admin/web.rst); it says whether
// this service is up and linked to the Peek logic service.

import {
  appInfo,
  appSession,
  forgetSignedInUser,
  registerServiceWorker,
} from "/static/peek-app.mjs";

const POLL_MILLISECONDS = 15000;

/**
 * Turn a /health answer into the state and sentence shown to the user.
 * @param {number} httpStatus
 * @param {{status?: string, reasons?: string[]}} body
 * @returns {{state: string, text: string}}
 */
export function describeHealth(httpStatus, body) {
  if (httpStatus === 200 && body.status === "ok") {
    return { state: "ok", text: "Connected to Peek." };
  }
  const reasons = Array.isArray(body.reasons) && body.reasons.length
    ? body.reasons.join("; ")
    : `the server answered ${httpStatus}`;
  return { state: "unavailable", text: `Peek is not fully available: ${reasons}.` };
}

function show(element, { state, text }) {
  if (element.dataset.state === state && element.textContent === text) {
    return;
  }
  element.dataset.state = state;
  element.textContent = text;
}

async function refresh(element) {
  try {
    const response = await fetch("/health", { cache: "no-store" });
    const body = await response.json();
    show(element, describeHealth(response.status, body));
  } catch (error) {
    show(element, { state: "unavailable", text: `Cannot reach Peek (${error.message}).` });
  }
}

const element = document.getElementById("link-status");
if (element) {
  refresh(element);
  setInterval(() => refresh(element), POLL_MILLISECONDS);
}

appInfo().then(registerServiceWorker);
const logoutForm = document.querySelector("form.logout-form");
if (logoutForm) {
  // Remember who is signed in, for offline use of the app.
  appSession().catch((error) => console.warn("Peek: cannot read the session:", error));
  logoutForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await forgetSignedInUser();
    logoutForm.submit(); // submit() fires no submit event, so this runs once
  });
}
