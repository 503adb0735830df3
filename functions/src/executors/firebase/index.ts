/** Every integration the `firebase` executor provisions, by `params.integration`. */
import { authenticationIntegration } from "./authentication";
import { backupIntegration } from "./backup";
import type { IntegrationModule } from "./context";
import { databaseIntegration } from "./database";
import { functionsIntegration } from "./functions";
import { healthIntegration } from "./health";
import { hostingIntegration } from "./hosting";
import { monitoringIntegration } from "./monitoring";
import { securityIntegration } from "./security";
import { storageIntegration } from "./storage";

export const INTEGRATIONS: Readonly<Record<string, IntegrationModule>> = {
  authentication: authenticationIntegration,
  database: databaseIntegration,
  storage: storageIntegration,
  functions: functionsIntegration,
  hosting: hostingIntegration,
  monitoring: monitoringIntegration,
  backup: backupIntegration,
  security: securityIntegration,
  health: healthIntegration,
};

export const INTEGRATION_NAMES = Object.keys(INTEGRATIONS);
