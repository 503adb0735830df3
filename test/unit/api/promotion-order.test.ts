/** The overview lists environments as they are promoted, named as their plans name them. */
import { inPromotionOrder } from "../../../functions/src/api/status";

describe("inPromotionOrder", () => {
  it("puts development, staging and production in that order, unplanned ones last, then by name (naturally) and id", () => {
    const views = [
      { id: "acme-prod", name: "production", tier: "production" as const },
      { id: "unplanned-b", name: "unplanned-b", tier: null },
      { id: "acme-dev", name: "development", tier: "development" as const },
      { id: "acme-qa10", name: "qa10", tier: "staging" as const },
      { id: "acme-qa2", name: "qa2", tier: "staging" as const },
      { id: "unplanned-a", name: "unplanned-a", tier: null },
    ];
    expect(inPromotionOrder(views).map((v) => v.id)).toEqual(["acme-dev", "acme-qa2", "acme-qa10", "acme-prod", "unplanned-a", "unplanned-b"]);
    expect(views[0]!.id).toBe("acme-prod");
  });
});
