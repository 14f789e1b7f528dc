// How the workspace words deadlines, states and people's roles.
import type { Schemas } from "../lib/api";
import { number, t } from "../lib/i18n";
import { stateLabel as sharedStateLabel } from "../lib/states";

type Labelled = { id: string; en: string };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function span(ms: number): string {
  if (ms >= DAY) {
    const days = Math.floor(ms / DAY);
    return t(`${days} hari`, days === 1 ? "1 day" : `${days} days`);
  }
  if (ms >= HOUR) {
    const hours = Math.floor(ms / HOUR);
    return t(`${hours} jam`, hours === 1 ? "1 hour" : `${hours} hours`);
  }
  const minutes = Math.max(1, Math.floor(ms / 60_000));
  return t(`${minutes} menit`, minutes === 1 ? "1 minute" : `${minutes} minutes`);
}

/** "dalam 2 hari" / "in 2 days", or "terlambat 1 hari" / "overdue 1 day". */
export function relativeDue(iso: string, now = Date.now()): { text: string; late: boolean } {
  const left = new Date(iso).getTime() - now;
  if (left < 0) return { text: t(`terlambat ${span(-left)}`, `overdue ${span(-left)}`), late: true };
  return { text: t(`dalam ${span(left)}`, `in ${span(left)}`), late: false };
}

const seenStates = new Map<string, Labelled>();

/** Remember the labels the API gave (states differ between services). */
export function learnState(state: Schemas["State"]): void {
  seenStates.set(state.code, state.label);
}

export function stateLabel(code: string): string {
  return sharedStateLabel(code, seenStates.get(code));
}

/** The badge colour of a state; its label always says the same in words. */
export function stateTone(code: string): string {
  switch (code) {
    case "submitted":
      return "state-new";
    case "in_review":
    case "awaiting_visit":
      return "state-work";
    case "revision_requested":
      return "warn";
    case "approved":
    case "completed":
      return "ok";
    case "rejected":
      return "bad";
    case "cancelled":
      return "state-closed";
    default:
      return "";
  }
}

export function roleLabel(role: string): string {
  switch (role) {
    case "citizen":
      return t("Warga", "Citizen");
    case "officer":
      return t("Petugas", "Officer");
    case "agency_admin":
      return t("Admin instansi", "Agency administrator");
    case "mpp_admin":
      return t("Admin MPP", "Mall administrator");
    case "system":
      return t("Sistem", "System");
    case "ops_viewer":
      return t("Pemantau operasional", "Operations viewer");
    case "partner":
      return t("Mitra", "Partner");
    default:
      return role;
  }
}

export function fileSize(bytes: number | null | undefined): string {
  if (bytes == null) return "";
  if (bytes >= 1024 * 1024) return `${number(bytes / 1024 / 1024, 1)} MB`;
  return `${number(Math.max(1, bytes / 1024))} KB`;
}
