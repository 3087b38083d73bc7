// The counter page: observe the shared counter, push increments (queued while offline),
// and show whether the field service and, through it, the logic service are reachable.
import { TupleGenericAction, TupleSelector, VortexClient } from "/vortex/js/index.js";

const PLUGIN = "peek_plugin_btest";
const FILT = { plugin: PLUGIN };
const vortex = new VortexClient({ vortexName: "peek-field-app" });
const offline = document.getElementById("offline");
const counter = document.getElementById("counter");
const result = document.getElementById("result");
let vortexOnline = false;
let logicLinked = true;

function showOnline() {
  offline.hidden = vortexOnline && logicLinked;
  document.body.dataset.online = String(!offline.hidden);
}

vortex.onStatus(({ online }) => {
  vortexOnline = online;
  showOnline();
});

async function checkLogic() {
  try {
    const health = await (await fetch("/health", { cache: "no-store" })).json();
    logicLinked = health.linkedToLogic === true;
  } catch {
    logicLinked = false;
  }
  showOnline();
}
checkLogic();
setInterval(checkLogic, 500);

vortex.observe(PLUGIN, new TupleSelector("peek_plugin_btest.CounterTuple", {}), (tuples) => {
  counter.textContent = String(tuples[0]?.value ?? "");
}, { additionalFilt: FILT });

function showResult(tuples, error) {
  result.textContent = error ? `Failed: ${error.message}` : `Logic counted ${tuples[0].value}.`;
}

vortex.onQueuedActionResult(({ tuples, error }) => showResult(tuples, error));

document.getElementById("increment").addEventListener("click", async () => {
  const action = new TupleGenericAction({ key: "increment", data: {} });
  result.textContent = offline.hidden ? "Sending…" : "Queued until the logic service is back.";
  try {
    showResult(await vortex.pushAction(PLUGIN, action, { additionalFilt: FILT, offline: true }));
  } catch (error) {
    showResult(null, error);
  }
});
