// Indonesian by default, English on request. Texts sit beside each other where they are used:
// t("Masuk", "Sign in"); texts from the API come as {id, en} and go through loc().
import { useEffect, useState } from "preact/hooks";

export type Lang = "id" | "en";
export type Localized = { id: string; en: string };

const KEY = "mpp.lang";
const listeners = new Set<(lang: Lang) => void>();

function initial(): Lang {
  const saved = localStorage.getItem(KEY);
  if (saved === "id" || saved === "en") return saved;
  return "id";
}

export let lang: Lang = initial();
document.documentElement.lang = lang;

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next;
  listeners.forEach((listener) => listener(next));
}

/** Re-renders the caller when the language changes. */
export function useLang(): Lang {
  const [current, setCurrent] = useState(lang);
  useEffect(() => {
    listeners.add(setCurrent);
    return () => void listeners.delete(setCurrent);
  }, []);
  return current;
}

export function t(id: string, en: string): string {
  return lang === "en" ? en : id;
}

export function loc(text: Localized | null | undefined): string {
  if (!text) return "";
  return (lang === "en" ? text.en : text.id) || text.id;
}

export function locList(list: { id: string[]; en: string[] } | null | undefined): string[] {
  if (!list) return [];
  return lang === "en" && list.en.length ? list.en : list.id;
}

const locale = () => (lang === "en" ? "en-GB" : "id-ID");
const ZONE = "Asia/Makassar"; // the regency's time (WITA)

export function rupiah(amount: number): string {
  return new Intl.NumberFormat(locale(), { style: "currency", currency: "IDR", maximumFractionDigits: 0 }).format(amount);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short", timeZone: ZONE }).format(new Date(iso));
}

export function date(iso: string | null | undefined): string {
  if (!iso) return "";
  const value = iso.length === 10 ? new Date(`${iso}T12:00:00+08:00`) : new Date(iso);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: ZONE }).format(value);
}

export function time(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { timeStyle: "short", timeZone: ZONE }).format(new Date(iso));
}

export function number(value: number, digits = 0): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);
}
