import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { ConfigError } from "../../src/errors.js";

afterEach(() => {
  delete process.env.NEUROCODE_BACKEND;
  vi.restoreAllMocks();
});

describe("initBackend", () => {
  it("rejects an unknown NEUROCODE_BACKEND, then honours a valid one and prints the choice once", async () => {
    process.env.NEUROCODE_BACKEND = "gpu-please";
    await expect(initBackend()).rejects.toBeInstanceOf(ConfigError);
    process.env.NEUROCODE_BACKEND = "cpu";
    const lines: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s) => (lines.push(String(s)), true));
    expect(await initBackend()).toBe("cpu");
    expect(await initBackend()).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    expect(lines).toEqual(["neurocode: tensor backend cpu\n"]);
  });
});
