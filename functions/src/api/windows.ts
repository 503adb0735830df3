/**
 * Maintenance and freeze windows (`windows/{id}`): listed with whether each is on now and when it
 * next ends, set and deleted by operators. The public status page (when allowed) sees maintenance
 * windows, as a status page announces planned work; freeze windows and reasons are for viewers.
 */
import { occurrenceAt } from "../engine/windows";
import { parseWith } from "../schema/issues";
import { windowIdSchema, windowSpecSchema, type WindowDoc } from "../schema/windows";
import { deleteWindow, readWindows, writeWindow } from "../store/windows";
import { principalName, type Principal } from "./auth";
import type { ApiContext } from "./context";
import { invalid, jsonObjectBody, notFound, ok, type ApiRequest, type ApiResponse } from "./http";

export interface WindowView extends WindowDoc {
  /** The occurrence on now, if any. */
  activeUntil: number | null;
}

export const windowView = (w: WindowDoc, now: number): WindowView => ({ ...w, activeUntil: occurrenceAt(w, now)?.end ?? null });

/** `GET /windows` */
export async function listWindows(ctx: ApiContext, signedIn: boolean): Promise<ApiResponse> {
  const { windows, unreadable } = await readWindows(ctx.db);
  const now = ctx.now();
  if (!signedIn) {
    const shown = windows.filter((w) => w.kind === "maintenance").map((w) => windowView(w, now));
    return ok({ windows: shown.map(({ reason: _reason, updatedBy: _by, ...w }) => w) });
  }
  return ok({ windows: windows.map((w) => windowView(w, now)), unreadable });
}

/** `POST /windows`: `{ id, kind, name, environments, oneTime?, weekly?, reason? }` creates or replaces window `id`. */
export async function setWindow(ctx: ApiContext, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const { id, ...spec } = body.value;
  const parsedId = parseWith(windowIdSchema, id);
  if (!parsedId.ok) return invalid("the window needs an id; nothing was written", parsedId.errors.map((e) => ({ ...e, path: ["id", e.path].filter(Boolean).join(".") })));
  const parsed = parseWith(windowSpecSchema, spec);
  if (!parsed.ok) return invalid("the window is not valid; nothing was written", parsed.errors);
  const now = ctx.now();
  await writeWindow(ctx.db, parsedId.value, parsed.value, principalName(principal), now);
  return ok({ window: windowView({ ...parsed.value, id: parsedId.value, updatedAt: now, updatedBy: principalName(principal) }, now) });
}

/** `POST /windows/:id/delete` */
export async function removeWindow(ctx: ApiContext, windowId: string): Promise<ApiResponse> {
  return (await deleteWindow(ctx.db, windowId)) ? ok({ deleted: windowId }) : notFound(`there is no window "${windowId}"`);
}
