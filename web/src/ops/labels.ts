// Readable names for the codes the figures carry (workflow states, channels), the satisfaction
// grades' bands, and the formats the wall uses.
import { lang, number, t, type Localized } from "../lib/i18n";
import { humanize, WORKFLOW_STATES } from "../lib/states";
export { stateLabel } from "../lib/states";
import type { Grade } from "./types";

export const STATE_ORDER = WORKFLOW_STATES.map(([code]) => code);
/** Open states shown even when nothing is in them. */
export const USUAL_OPEN_STATES = ["submitted", "in_review", "revision_requested", "approved"];

const CHANNELS: Record<string, Localized> = {
  inbox: { id: "Kotak masuk", en: "In-app inbox" },
  email: { id: "E-mail", en: "E-mail" },
  sms: { id: "SMS", en: "SMS" },
  whatsapp: { id: "WhatsApp", en: "WhatsApp" },
  push: { id: "Push", en: "Push" },
};

export function channelLabel(code: string): string {
  const known = CHANNELS[code];
  return known ? (lang === "en" ? known.en : known.id) : humanize(code);
}

/** The satisfaction index's grades (PermenPAN-RB 14/2017), lowest first. */
export const GRADE_BANDS: { code: string; min: number; max: number; label: Localized }[] = [
  { code: "D", min: 25, max: 65, label: { id: "Tidak Baik", en: "Not good" } },
  { code: "C", min: 65, max: 76.61, label: { id: "Kurang Baik", en: "Poor" } },
  { code: "B", min: 76.61, max: 88.31, label: { id: "Baik", en: "Good" } },
  { code: "A", min: 88.31, max: 100, label: { id: "Sangat Baik", en: "Very good" } },
];

/** The grade the API gave, or the one the bands give when it gave none. */
export function gradeOf(ikm: number | null | undefined, given: Grade | null | undefined): { code: string; label: Localized } | null {
  if (given) return { code: given.code, label: given.label };
  if (ikm === null || ikm === undefined) return null;
  const band = [...GRADE_BANDS].reverse().find((b) => ikm >= b.min);
  return band ? { code: band.code, label: band.label } : null;
}

/** 0.9734 → "97,3 %" (one decimal, the locale's comma); null → "—". */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined) return "—";
  return `${number(share * 100, 1)} %`;
}

export function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

/** Good, so-so or bad for a share that should be high (SLA compliance, delivery rate). */
export function shareTone(share: number | null | undefined): "ok" | "warn" | "bad" | "" {
  if (share === null || share === undefined) return "";
  return share >= 0.9 ? "ok" : share >= 0.75 ? "warn" : "bad";
}

const ZONE = "Asia/Makassar";

/** hh:mm:ss in the regency's time (WITA). */
export function clockTime(at: Date | string): string {
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
    timeZone: ZONE,
  })
    .format(typeof at === "string" ? new Date(at) : at)
    .replace(/\./g, ":");
}

export function longDate(at: Date): string {
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID", {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: ZONE,
  }).format(at);
}

export function notAvailable(): string {
  return t("Tidak tersedia", "Not available");
}
