// The command center's top bar: title, agency filter, live indicator, clock, language, sign out.
import { useEffect, useState } from "preact/hooks";
import { t } from "../lib/i18n";
import { Field, LangSwitch } from "../lib/ui";
import { clockTime, longDate } from "./labels";
import type { LiveState } from "./live";
import { session } from "./session";
import type { Agency } from "./types";

export function title(): string {
  return t("Pusat Komando MPP Kabupaten Sinjai", "Sinjai Public Service Mall Command Center");
}

function Clock() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <p class="clock">
      <time dateTime={now.toISOString()}>
        <span class="clock-time">{clockTime(now)}</span> <span class="clock-zone">WITA</span>
      </time>
      <span class="clock-date">{longDate(now)}</span>
    </p>
  );
}

function liveLabel(state: LiveState): string {
  switch (state.kind) {
    case "live":
      return t("Langsung", "Live");
    case "reconnecting":
      return t("Menyambung ulang…", "Reconnecting…");
    default:
      return t("Menghubungkan…", "Connecting…");
  }
}

/** Whether the figures are arriving, and when they last changed. */
export function LiveIndicator({ state, lastAt }: { state: LiveState; lastAt: string | null }) {
  const reason = state.kind === "reconnecting" ? state.reason : undefined;
  return (
    <div class={`live live-${state.kind}`} title={reason}>
      <span class="dot" aria-hidden="true" />
      <span class="live-text">
        <span class="live-state" role="status" aria-live="polite">
          {liveLabel(state)}
          {reason && <span class="visually-hidden"> {reason}</span>}
        </span>
        <span class="live-last">
          {t("pembaruan terakhir", "last update")} <time dateTime={lastAt ?? undefined}>{lastAt ? clockTime(lastAt) : "—"}</time>
        </span>
      </span>
    </div>
  );
}

type HeaderProps = {
  live: LiveState;
  lastAt: string | null;
  agencies: Agency[];
  chosen: string;
  choose: (code: string) => void;
};

export function Header({ live, lastAt, agencies, chosen, choose }: HeaderProps) {
  const sorted = [...agencies].sort((a, b) => a.short_name.localeCompare(b.short_name));
  return (
    <header class="topbar">
      <div class="brand">
        <h1>{title()}</h1>
        <p>MPP Elektronik</p>
      </div>
      <div class="controls">
        <Field label={t("Sorot instansi", "Highlight agency")}>
          {(p) => (
            <select {...p} value={chosen} onChange={(e) => choose(e.currentTarget.value)}>
              <option value="">{t("Semua instansi", "All agencies")}</option>
              {sorted.map((a) => (
                <option key={a.code} value={a.code}>
                  {a.short_name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <LiveIndicator state={live} lastAt={lastAt} />
        <Clock />
        <LangSwitch />
        <button type="button" class="signout" onClick={() => void session.signOut()}>
          {t("Keluar", "Sign out")}
        </button>
      </div>
    </header>
  );
}
