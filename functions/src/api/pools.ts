/**
 * Named pools (`pools/{id}`): listed with their slots in use and tasks waiting, created, resized and
 * deleted by operators. A plan's own `maxParallel` needs no pool document and is not listed.
 */
import { z } from "zod";
import { parseWith } from "../schema/issues";
import { poolIdSchema } from "../schema/plan";
import { deletePool, readPools, writePool } from "../store/pools";
import { principalName, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { invalid, jsonObjectBody, notFound, ok, type ApiRequest, type ApiResponse } from "./http";

const poolSpecSchema = z.object({ id: poolIdSchema, slots: z.number().int().min(1).max(10_000), description: z.string().max(500).nullable().optional() }).strict();

/** `GET /pools` */
export async function listPools(ctx: ApiContext): Promise<ApiResponse> {
  return ok(await readPools(ctx.db));
}

/** `POST /pools`: `{ id, slots, description? }` creates pool `id` or resizes it (a resize without `description` keeps the one it has). */
export async function setPool(ctx: ApiContext, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const parsed = parseWith(poolSpecSchema, body.value);
  if (!parsed.ok) return invalid("the pool is not valid; nothing was written", parsed.errors);
  const { id, ...spec } = parsed.value;
  const now = ctx.now();
  const written = await writePool(ctx.db, id, spec, principalName(principal), now);
  return ok({ pool: { id, ...written, updatedAt: now, updatedBy: principalName(principal) } });
}

/** `POST /pools/:id/delete` */
export async function removePool(ctx: ApiContext, poolId: string): Promise<ApiResponse> {
  return (await deletePool(ctx.db, poolId)) ? ok({ deleted: poolId }) : notFound(`there is no pool "${poolId}"`);
}
