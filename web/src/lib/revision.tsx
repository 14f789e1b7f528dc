// What a send-back asked to fix and what the resubmission changed, under a history line: shown
// the same way to the officer and to the citizen.
import type { Schemas } from "./api";
import { loc, t } from "./i18n";

type Line = Schemas["HistoryLine"];

function shown(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? t("Ya", "Yes") : t("Tidak", "No");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The items a send-back named, each with its note. */
export function AskedFixes({ items }: { items: Schemas["AskedFix"][] }) {
  if (!items.length) return null;
  return (
    <ul class="fixes">
      {items.map((item) => (
        <li key={`${item.kind}-${item.name}`}>
          <strong>{loc(item.label)}</strong>
          <span class="muted small"> ({item.kind === "field" ? t("isian", "answer") : t("dokumen", "document")})</span>
          {item.note && <>: {item.note}</>}
        </li>
      ))}
    </ul>
  );
}

/** What a line of the history asked or changed (nothing for the other lines). */
export function LineDetails({ line }: { line: Line }) {
  const asked = line.revision ?? [];
  const changes = line.changes ?? [];
  if (!asked.length && !changes.length) return null;
  return (
    <div class="line-details">
      {asked.length > 0 && (
        <>
          <p class="small">{t("Yang harus diperbaiki:", "To fix:")}</p>
          <AskedFixes items={asked} />
        </>
      )}
      {changes.length > 0 && (
        <>
          <p class="small">{t("Yang diubah:", "Changed:")}</p>
          <ul class="fixes">
            {changes.map((change) => (
              <li key={`${change.kind}-${change.name}`}>
                <strong>{loc(change.label)}</strong>:{" "}
                {change.kind === "requirement" ? (
                  t("dokumen diganti", "document replaced")
                ) : change.sensitive ? (
                  t("diubah (tidak ditampilkan)", "changed (not shown)")
                ) : (
                  <>
                    <del>{shown(change.old)}</del>
                    <span aria-hidden="true"> → </span>
                    <span class="visually-hidden"> {t("menjadi", "to")} </span>
                    <ins>{shown(change.new)}</ins>
                  </>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
