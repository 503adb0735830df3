/** HTTPS entry of the `api` function: adapts the Express-style request to the pure router. */
import type { Request } from "firebase-functions/v2/https";
import type { Response } from "express";
import { routeApiRequest } from "../api/handler";
import { logs } from "../logs";
import { firestore } from "../store/firestore";

export async function handleApiRequest(req: Request, res: Response): Promise<void> {
  try {
    const result = await routeApiRequest(firestore(), { method: req.method, path: req.path, query: req.query as Record<string, unknown> });
    res.status(result.status).set({ "Cache-Control": "no-store", ...result.headers }).json(result.body);
  } catch (error) {
    logs.unexpected(`api ${req.method} ${req.path}`, error);
    res.status(500).json({ error: { code: "internal", message: "internal error; see the function logs" } });
  }
}
