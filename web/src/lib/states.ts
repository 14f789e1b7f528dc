// Labels of the states the catalog's standard workflows use (catalog/workflows.py), for figures
// and counts that carry only the codes; in the order work flows.
import { loc, type Localized } from "./i18n";

export const WORKFLOW_STATES: [string, Localized][] = [
  ["draft", { id: "Draf", en: "Draft" }],
  ["submitted", { id: "Diajukan", en: "Submitted" }],
  ["in_review", { id: "Diperiksa petugas", en: "Under review" }],
  ["revision_requested", { id: "Perlu perbaikan berkas", en: "Revision requested" }],
  ["awaiting_visit", { id: "Menunggu kedatangan di loket", en: "Awaiting counter visit" }],
  ["awaiting_payment", { id: "Menunggu pembayaran", en: "Awaiting payment" }],
  ["approved", { id: "Disetujui", en: "Approved" }],
  ["completed", { id: "Selesai", en: "Completed" }],
  ["rejected", { id: "Ditolak", en: "Rejected" }],
  ["cancelled", { id: "Dibatalkan", en: "Cancelled" }],
];
const KNOWN = new Map(WORKFLOW_STATES);

/** "awaiting_documents" → "Awaiting documents", for a code no table names. */
export function humanize(code: string): string {
  const words = code.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A state's label: `learned` (what the API said) first, then the standard workflows'. */
export function stateLabel(code: string, learned?: Localized): string {
  const label = learned ?? KNOWN.get(code);
  return label ? loc(label) : humanize(code);
}
