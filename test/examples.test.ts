import { describe, expect, it, vi } from "vitest";

describe("examples", () => {
  it("quickstart runs end to end", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const { main } = await import("../examples/quickstart.js");
      expect(await main()).toEqual({ sent: true, reply: "Re: The site is down! (priority high)" });
      expect(log).toHaveBeenCalledWith("completed", expect.anything(), "$0.002", "high");
    } finally {
      log.mockRestore();
    }
  });
});
