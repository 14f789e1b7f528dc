// A titled panel of the wall, and what it shows while its part is loading or missing.
import type { ComponentChildren, JSX } from "preact";
import { t } from "../../lib/i18n";
import { notAvailable } from "../labels";

type PanelProps = { id: string; title: string; class?: string; aside?: ComponentChildren; children: ComponentChildren };

export function Panel({ id, title, class: className = "", aside, children }: PanelProps) {
  return (
    <section class={`panel ${className}`} aria-labelledby={id}>
      <div class="panel-head">
        <h2 id={id}>{title}</h2>
        {aside}
      </div>
      {children}
    </section>
  );
}

type PartProps<T> = { value: T | null | undefined; error?: string; children: (value: T) => JSX.Element };

/** Its children once the part is there; "loading" before, "not available" when it failed. */
export function Part<T>({ value, error, children }: PartProps<T>) {
  if (value === undefined) {
    return <p class="muted">{t("Menunggu data…", "Waiting for data…")}</p>;
  }
  if (value === null) {
    return (
      <div class="unavailable">
        <p>{notAvailable()}</p>
        {error && <p class="small muted">{error}</p>}
      </div>
    );
  }
  return children(value);
}
