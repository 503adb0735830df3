import { nextFireTime } from "../../../local/scheduler";

describe("local Cloud Scheduler schedules", () => {
  const from = new Date("2026-11-25T10:00:30Z");

  it("reads App Engine style schedules as firebase-functions writes them", () => {
    expect(nextFireTime("every 1 minutes", from).toISOString()).toBe("2026-11-25T10:01:30.000Z");
    expect(nextFireTime("every 5 minutes", from).toISOString()).toBe("2026-11-25T10:05:30.000Z");
    expect(nextFireTime("every 2 hours", from).toISOString()).toBe("2026-11-25T12:00:30.000Z");
  });

  it("reads unix cron in the function's time zone", () => {
    expect(nextFireTime("*/15 * * * *", from).toISOString()).toBe("2026-11-25T10:15:00.000Z");
    expect(nextFireTime("0 9 * * *", from, "Europe/Paris").toISOString()).toBe("2026-11-26T08:00:00.000Z");
  });

  it("compresses time for demos", () => {
    expect(nextFireTime("every 5 minutes", from, "UTC", 10).toISOString()).toBe("2026-11-25T10:01:00.000Z");
  });
});
