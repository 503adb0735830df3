/**
 * What each goal means to the planner: the integrations it requires in its target environments,
 * where it applies by default, and its default success criteria. Adding a goal = one entry here
 * (and its id in GOAL_IDS).
 */
import type { EnvironmentTier, GoalId } from "../schema/environment-plan";

export interface GoalEntry {
  name: string;
  requiredIntegrations: readonly string[];
  /** Tiers the goal targets when the user names no environments. */
  defaultTiers: readonly EnvironmentTier[];
  defaultUptimePercent: number | null;
}

export const GOALS: Readonly<Record<GoalId, GoalEntry>> = {
  high_availability: {
    name: "High availability",
    requiredIntegrations: ["monitoring", "backup", "security"],
    defaultTiers: ["staging", "production"],
    defaultUptimePercent: 99.9,
  },
  security_compliance: {
    name: "Security compliance",
    requiredIntegrations: ["authentication", "security"],
    defaultTiers: ["development", "staging", "production"],
    defaultUptimePercent: null,
  },
  cost_optimization: {
    name: "Cost optimisation",
    requiredIntegrations: [],
    defaultTiers: ["development", "staging", "production"],
    defaultUptimePercent: null,
  },
};

/** Average minutes per month (365.25 days / 12), the base of uptime ↔ downtime conversions. */
export const MINUTES_PER_MONTH = 43_830;

/** Monthly downtime an uptime target allows, to 0.1 minute: 99.9 % → 43.8. */
export function allowedDowntimeMinutes(uptimePercent: number): number {
  return Math.round(((100 - uptimePercent) / 100) * MINUTES_PER_MONTH * 10) / 10;
}

export function isGoalId(id: string): id is GoalId {
  return Object.prototype.hasOwnProperty.call(GOALS, id);
}
