// The officer's session on this desk and the API client that uses it.
import { createApi, Session } from "../lib/api";

export const session = new Session("mpp.petugas.session");
export const api = createApi(session);

/** Where the workspace lives; its routes are below. */
export const BASE = "/petugas";

/** Roles this workspace is for. */
export const OFFICER_ROLES = ["officer", "agency_admin"];

export { ok } from "../lib/api";
