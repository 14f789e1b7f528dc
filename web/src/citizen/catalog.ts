// Catalog look-ups shared by the pages: agencies and categories change rarely, so each is
// fetched once per visit.
import { ok, type Schemas } from "../lib/api";
import { api } from "./session";

export type Agency = Schemas["Agency"];
let agencies: Promise<Map<string, Agency>> | null = null;

export function agencyMap(): Promise<Map<string, Agency>> {
  agencies ??= ok(api.GET("/api/v1/catalog/agencies", { params: { query: { limit: 100 } } }))
    .then((page) => new Map(page.items.map((agency) => [agency.code, agency])))
    .catch((error) => {
      agencies = null;
      throw error;
    });
  return agencies;
}

export function service(slug: string): Promise<Schemas["Service"]> {
  return ok(api.GET("/api/v1/catalog/services/{id_or_slug}", { params: { path: { id_or_slug: slug } } }));
}
