// The citizen's session on this phone and the API client that uses it.
import { createApi, Session } from "../lib/api";

export const session = new Session("mpp.citizen.session");
export const api = createApi(session);
