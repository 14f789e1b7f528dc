// Pieces the workspace's pages share: state badges, deadlines, focus after navigation.
import type { Ref } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { date, loc, t, type Localized } from "../lib/i18n";
import { relativeDue, stateLabel, stateTone } from "./format";

export function StateBadge({ code, label }: { code: string; label?: Localized }) {
  return <span class={`badge state ${stateTone(code)}`}>{label ? loc(label) : stateLabel(code)}</span>;
}

/** Overdue and nearing-due flags: colour and words. */
export function Flags({ overdue, nearing, paused }: { overdue: boolean; nearing?: boolean; paused?: boolean }) {
  if (!overdue && !nearing && !paused) return <span class="muted">—</span>;
  return (
    <span class="flags">
      {overdue && <span class="badge bad">{t("Terlambat", "Overdue")}</span>}
      {nearing && !overdue && <span class="badge warn">{t("Mendekati tenggat", "Nearing due")}</span>}
      {paused && <span class="badge state-closed">{t("SLA dijeda", "SLA paused")}</span>}
    </span>
  );
}

/** "dalam 2 hari" over the date, red when late. */
export function Due({ iso, now, paused }: { iso: string | null | undefined; now: number; paused?: boolean }) {
  if (!iso) return <span class="muted">{paused ? t("Dijeda", "Paused") : "—"}</span>;
  const due = relativeDue(iso, now);
  return (
    <span class="due">
      <span class={due.late && !paused ? "due-rel late" : "due-rel"}>{paused ? t("Dijeda", "Paused") : due.text}</span>
      <span class="due-date">{date(iso)}</span>
    </span>
  );
}

// Focus goes to a page's heading after the officer navigated (not on the first load of the app).
let navigated = false;
export function markNavigated(): void {
  navigated = true;
}

/** Moves the focus to the heading once `ready` (always, or only after navigation). */
export function useHeadingFocus(ready: boolean, always = false): Ref<HTMLHeadingElement> {
  const heading = useRef<HTMLHeadingElement>(null);
  const done = useRef(false);
  useEffect(() => {
    if (!ready || done.current || !heading.current) return;
    done.current = true;
    if (always || navigated) heading.current.focus();
  }, [ready]);
  return heading;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} — ${t("Ruang Kerja Petugas", "Officer workspace")} — MPP Elektronik`;
  }, [title]);
}
