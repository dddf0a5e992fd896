import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { otherProcessesLoad } from "../../src/engine/cpu-load.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("otherProcessesLoad (CPU time of other processes, from /proc/stat)", () => {
  it("sees a child process that keeps a core busy (Linux), is null without /proc/stat", async () => {
    if (!existsSync("/proc/stat")) {
      expect(otherProcessesLoad()).toBeNull();
      return;
    }
    otherProcessesLoad();
    await sleep(300);
    const first = otherProcessesLoad()!;
    // Within the 250 ms window the last reading is returned unchanged.
    expect(otherProcessesLoad()).toBe(first);
    const child = spawn(process.execPath, ["-e", "const end = Date.now() + 1500; while (Date.now() < end);"], { stdio: "ignore" });
    try {
      await sleep(100);
      otherProcessesLoad();
      await sleep(600);
      const busy = otherProcessesLoad()!;
      // The child's core (other work on a shared machine may add to it), and no more than the machine has.
      expect(busy).toBeGreaterThan(0.6);
      expect(busy).toBeLessThan(os.cpus().length + 0.2);
    } finally {
      child.kill();
    }
  });
});
