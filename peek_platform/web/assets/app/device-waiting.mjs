// The "waiting for approval" page of the field and office sites: asks the site every
// POLL_MILLISECONDS whether an administrator has approved this device, and goes on to the
// page that was asked for once approved (see docs/admin/devices.rst).

const POLL_MILLISECONDS = 2000;

/**
 * What the page says for a device state from GET /device/status, and whether to go on
 * polling.
 * @param {string} state
 * @returns {{text: string, done: boolean}}
 */
export function describeDeviceState(state) {
  if (state === "approved") {
    return { text: "This device is approved. Opening Peek…", done: true };
  }
  if (state === "pending") {
    return {
      text: "Waiting for an administrator to approve this device. This page goes on by itself once it is approved.",
      done: false,
    };
  }
  return {
    text: "This device may not use Peek: an administrator revoked it. Ask your Peek administrator.",
    done: true,
  };
}

async function check(main, element) {
  let response;
  try {
    response = await fetch("/device/status", {
      cache: "no-store",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
  } catch (error) {
    element.textContent = `Cannot reach Peek (${error.message}); trying again.`;
    return false;
  }
  if (response.status === 401) {
    location.assign("/login");
    return true;
  }
  // An answer that is not the status (a proxy's error page) counts as "still waiting".
  const { state } = await response.json().catch(() => ({ state: "pending" }));
  const { text, done } = describeDeviceState(state);
  element.dataset.state = state;
  element.textContent = text;
  if (state === "approved") {
    location.assign(main.dataset.next || "/");
  }
  return done;
}

const main = document.querySelector("main.device-waiting");
const element = document.getElementById("device-state");
if (main && element) {
  const timer = setInterval(async () => {
    if (await check(main, element)) {
      clearInterval(timer);
    }
  }, POLL_MILLISECONDS);
}
