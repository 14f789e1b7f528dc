// The wall screen's (or laptop's) staff session and the API client that uses it.
import { createApi, Session } from "../lib/api";

export const session = new Session("mpp.ops.session");
export const api = createApi(session);

/** Roles that may see the command center (the gateway refuses the others too). */
export const STAFF_ROLES = ["officer", "agency_admin", "mpp_admin", "ops_viewer"];
