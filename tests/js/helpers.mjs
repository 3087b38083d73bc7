// Shared helpers of the JS client tests: running the Python helpers and test server.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  MemoryQueueStore,
  Tuple,
  VortexClient,
  defaultTupleRegistry,
} from "../../vortex/js/index.js";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(HERE, "..", "..");
export const PYTHON = process.env.VORTEX_TEST_PYTHON || "python3";

/** Run a Python helper script of this directory synchronously; returns its parsed JSON output. */
export function runPythonJson(script, args = [], input = "") {
  const result = spawnSync(PYTHON, [join(HERE, script), ...args], {
    input,
    encoding: "utf-8",
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`${script} ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  }
  return JSON.parse(result.stdout);
}

/** Resolve after ms milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll predicate until it is true; reject with message after timeoutMs. */
export async function waitFor(predicate, message, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await sleep(20);
  }
}

/**
 * The Python vortex test server (tests/js/vortex_test_server.py) in a child process.
 * `start()` resolves with the info line it prints once listening; the port is kept so a
 * restart listens on the same one.
 */
export class TestServer {
  constructor({ port = 0, extraArgs = [] } = {}) {
    this.port = port;
    this.extraArgs = extraArgs;
    this.process = null;
    this.info = null;
    this.stderr = "";
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/vortexws`;
  }

  start() {
    const args = [join(HERE, "vortex_test_server.py"), "--port", String(this.port), ...this.extraArgs];
    const child = spawn(PYTHON, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    this.process = child;
    child.stderr.setEncoding("utf-8");
    child.stderr.on("data", (chunk) => {
      this.stderr += chunk;
    });
    return new Promise((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf-8");
      const onData = (chunk) => {
        out += chunk;
        const newline = out.indexOf("\n");
        if (newline >= 0) {
          child.stdout.off("data", onData);
          this.info = JSON.parse(out.slice(0, newline));
          this.port = this.info.port;
          resolve(this.info);
        }
      };
      child.stdout.on("data", onData);
      child.once("exit", (code) => reject(new Error(`test server exited (${code}): ${this.stderr}`)));
    });
  }

  /** Stop the server process (SIGTERM) and wait until it has exited. */
  async stop() {
    const child = this.process;
    if (child === null) return;
    this.process = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    await exited;
  }

  /** Freeze (SIGSTOP) or thaw (SIGCONT) the server: its sockets stay open but silent. */
  freeze(frozen) {
    this.process.kill(frozen ? "SIGSTOP" : "SIGCONT");
  }
}

/** The JS class of the test server's `jstest.Item` (tests/js/jstest_tuples.py). */
export class JsTestItem extends Tuple {
  static tupleType = "jstest.Item";
  static tupleFields = { id: null, name: null, value: null, when: null, extra: () => ({}) };
}

/** A tuple registry that knows JsTestItem. */
export const jsTestRegistry = defaultTupleRegistry.copy();
jsTestRegistry.register(JsTestItem);

/** The additionalFilt of every endpoint of the test server. */
export const JSTEST_FILT = { plugin: "jstest" };

/** A VortexClient of `server` as the field app, with an in-memory queue and fast relinks. */
export function testClient(server, options = {}) {
  return new VortexClient({
    url: server.url,
    vortexName: "peek-field-app",
    registry: jsTestRegistry,
    offlineStore: new MemoryQueueStore(),
    backoff: { initialMs: 50, capMs: 200 },
    ...options,
  });
}
