// The shapes of identity data and the check of a service's form, on the phone, before anything
// is sent: the same rules and words as the server's (shared/mpp_shared/formats.py and the
// applications service's forms.py; change them together). Input is forgiving: spaces, dots and
// dashes between digits are dropped before anything is checked.
//
// A JSON Schema library (ajv) compiles schemas with `new Function`, which the app's
// Content-Security-Policy forbids; the catalog's forms use a small subset, checked here.
import type { Localized } from "./i18n";

const msg = (id: string, en: string): Localized => ({ id, en });
export const REQUIRED = msg("Wajib diisi.", "Required.");

// Province codes (Kemendagri), including the Papua provinces formed in 2022.
const PROVINCES = new Set([11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96]);
// libphonenumber's Indonesian mobile numbers, after 0 or +62.
const MOBILE = /^8[1-35-9]\d{7,10}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Today in the regency (WITA), as YYYY-MM-DD. */
export function localToday(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Makassar", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

/** The text without the spaces, dots and dashes people type between digits. */
export function digitsOf(text: string): string {
  return text.replace(/[\s.-]/g, "");
}

function realDate(year: number, month: number, day: number): string | null {
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return d.toISOString().slice(0, 10);
}

/** What is wrong with a NIK (PPRRDD DDMMYY SSSS), or null when it could exist. */
export function nikProblem(text: string, today = localToday()): Localized | null {
  const value = digitsOf(text);
  if (!value) return REQUIRED;
  if (!/^\d+$/.test(value)) return msg("NIK hanya berisi angka (16 angka).", "A NIK is 16 digits, numbers only.");
  if (value.length !== 16) return msg(`NIK harus 16 angka (terisi ${value.length}).`, `A NIK is 16 digits (this has ${value.length}).`);
  if (!PROVINCES.has(Number(value.slice(0, 2)))) return msg("Kode provinsi pada NIK tidak dikenal.", "Unknown province code.");
  if (value.slice(2, 4) === "00" || value.slice(4, 6) === "00") return msg("Kode kabupaten/kota atau kecamatan pada NIK tidak valid.", "The regency or district code is not valid.");
  let day = Number(value.slice(6, 8));
  const month = Number(value.slice(8, 10));
  const year = Number(value.slice(10, 12));
  if (day > 40) day -= 40;
  const thisYear = Number(today.slice(0, 4));
  const born = realDate((2000 + year <= thisYear ? 2000 : 1900) + year, month, day);
  if (!born || born > today) return msg("Tanggal lahir pada NIK tidak valid.", "The birth date in the NIK is not valid.");
  if (value.slice(12) === "0000") return msg("Nomor urut pada NIK tidak valid.", "The serial number is not valid.");
  return null;
}

/** An Indonesian mobile number in E.164 (`0812-3456-7890` as `+6281234567890`), or null. */
export function mobileE164(text: string): string | null {
  let value = digitsOf(text).replace(/[()]/g, "");
  for (const prefix of ["+62", "62"]) {
    if (value.startsWith(prefix)) {
      value = value.slice(prefix.length);
      break;
    }
  }
  if (value.startsWith("0")) value = value.slice(1);
  return MOBILE.test(value) ? `+62${value}` : null;
}

export function phoneProblem(text: string): Localized | null {
  if (!text.trim()) return REQUIRED;
  return mobileE164(text) ? null : msg("Nomor HP harus nomor seluler Indonesia, misalnya 0812 3456 7890.", "Use an Indonesian mobile number, for example 0812 3456 7890.");
}

/** What is wrong with a YYYY-MM-DD date; `when` past: not after today, future: not before it. */
export function dateProblem(text: string, when: "any" | "past" | "future" = "any", today = localToday()): Localized | null {
  if (!text.trim()) return REQUIRED;
  const real = ISO_DATE.test(text) && realDate(Number(text.slice(0, 4)), Number(text.slice(5, 7)), Number(text.slice(8, 10)));
  if (!real) return msg("Isi tanggal yang benar (tahun-bulan-tanggal).", "Enter a real date (year-month-day).");
  if (when === "past" && text > today) return msg("Tanggal tidak boleh melewati hari ini.", "The date cannot be later than today.");
  if (when === "future" && text < today) return msg("Tanggal tidak boleh sebelum hari ini.", "The date cannot be earlier than today.");
  return null;
}

export function emailProblem(text: string): Localized | null {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text.trim()) ? null : msg("Alamat e-mail tidak valid.", "Not a valid e-mail address.");
}

const FORMATS: Record<string, (text: string) => Localized | null> = {
  nik: (text) => nikProblem(text),
  "phone-id": phoneProblem,
  date: (text) => dateProblem(text),
  email: emailProblem,
};

// ---- the service's form ----------------------------------------------------------------------

export type Property = {
  type?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  title?: string;
  "x-input"?: string;
  "x-label"?: Localized;
  "x-options"?: { value: string; label: Localized }[];
  "x-when"?: "past" | "future";
  "x-not-before"?: string;
};
export type FormSchema = { properties?: Record<string, Property>; required?: string[]; "x-order"?: string[] };

/** The fields in the order the service asks them (`x-order`), else required ones first. */
export function fieldsOf(schema: FormSchema): [string, Property][] {
  const properties = schema.properties ?? {};
  const order = [...(schema["x-order"] ?? []), ...(schema.required ?? []), ...Object.keys(properties)];
  return [...new Set(order)].filter((name) => name in properties).map((name) => [name, properties[name]]);
}

export function labelOf(name: string, property: Property | undefined): Localized {
  return property?.["x-label"] ?? { id: property?.title ?? name, en: property?.title ?? name };
}

/** The answers as the service keeps them: NIKs as their digits, mobile numbers in E.164, text
 * trimmed; what cannot be read is left for `formProblems` to explain. */
export function normalisedForm(schema: FormSchema, form: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(form)) {
    const format = schema.properties?.[name]?.format;
    if (typeof value !== "string") out[name] = value;
    else if (format === "nik" && !nikProblem(value)) out[name] = digitsOf(value);
    else if (format === "phone-id" && mobileE164(value)) out[name] = mobileE164(value);
    else out[name] = value.trim();
  }
  return out;
}

const TYPES: Record<string, [string, string]> = { string: ["teks", "text"], integer: ["bilangan bulat", "a whole number"], number: ["angka", "a number"], boolean: ["ya/tidak", "yes or no"] };

function propertyProblem(property: Property, value: unknown): Localized | null {
  const type = property.type;
  const typeOk =
    !type ||
    (type === "string" && typeof value === "string") ||
    (type === "integer" && typeof value === "number" && Number.isInteger(value)) ||
    (type === "number" && typeof value === "number" && Number.isFinite(value)) ||
    (type === "boolean" && typeof value === "boolean");
  if (!typeOk) {
    const [id, en] = TYPES[type ?? ""] ?? [type, type];
    return msg(`Jenis isian salah (harus ${id}).`, `Wrong kind of answer (must be ${en}).`);
  }
  if (typeof value === "string") {
    if (property.minLength && !value.trim()) return REQUIRED;
    const length = [...value].length;
    if (property.minLength !== undefined && length < property.minLength) return msg(`Terlalu pendek (minimal ${property.minLength} karakter).`, `Too short (at least ${property.minLength} characters).`);
    if (property.maxLength !== undefined && length > property.maxLength) return msg(`Terlalu panjang (maksimal ${property.maxLength} karakter).`, `Too long (at most ${property.maxLength} characters).`);
  }
  if (typeof value === "number") {
    if (property.minimum !== undefined && value < property.minimum) return msg(`Minimal ${property.minimum}.`, `At least ${property.minimum}.`);
    if (property.maximum !== undefined && value > property.maximum) return msg(`Maksimal ${property.maximum}.`, `At most ${property.maximum}.`);
  }
  if (property.enum && !property.enum.includes(value)) {
    const options = property["x-options"] ?? [];
    return msg(`Pilih salah satu: ${options.map((o) => o.label.id).join(", ")}.`, `Choose one of: ${options.map((o) => o.label.en || o.label.id).join(", ")}.`);
  }
  const format = property.format && FORMATS[property.format];
  const problem = typeof value === "string" && format ? format(value) : null;
  const when = property["x-when"];
  return problem ?? (typeof value === "string" && when ? dateProblem(value, when) : null);
}

/** Every problem of the form (already normalised), by field name, in the form's order. */
export function formProblems(schema: FormSchema, form: Record<string, unknown>): Map<string, Localized> {
  const required = new Set(schema.required ?? []);
  const found = new Map<string, Localized>();
  for (const [name, property] of fieldsOf(schema)) {
    const value = form[name];
    const problem = value === undefined || value === null || value === "" ? (required.has(name) ? REQUIRED : null) : propertyProblem(property, value);
    if (problem) found.set(name, problem);
  }
  for (const [name, property] of fieldsOf(schema)) {
    const other = property["x-not-before"];
    const mine = form[name];
    const theirs = other ? form[other] : undefined;
    if (!other || found.has(name) || found.has(other) || typeof mine !== "string" || typeof theirs !== "string") continue;
    if (mine < theirs) {
      const before = labelOf(other, schema.properties?.[other]);
      found.set(name, msg(`Tidak boleh sebelum ${before.id}.`, `Cannot be earlier than the ${before.en.toLowerCase()}.`));
    }
  }
  return new Map(fieldsOf(schema).filter(([name]) => found.has(name)).map(([name]) => [name, found.get(name) as Localized]));
}
