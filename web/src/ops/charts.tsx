// Small charts drawn with CSS and SVG. They are pictures of numbers that are always also written
// out as text (in the table cell beside them, or the SVG's label), so the pictures are hidden from
// screen readers or labelled as one image.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { loc, number, t } from "../lib/i18n";
import { GRADE_BANDS } from "./labels";

const FLASH_MS = 2_500;

/** True for a moment after `value` changes (never for the first value). */
export function useFlash(value: unknown): boolean {
  const previous = useRef(value);
  const [flash, setFlash] = useState(false);
  useEffect(() => {
    const before = previous.current;
    previous.current = value;
    if (before === value || before === undefined || before === null) return;
    setFlash(true);
    const timer = setTimeout(() => setFlash(false), FLASH_MS);
    return () => clearTimeout(timer);
  }, [value]);
  return flash;
}

/** A figure that lights up briefly when it changes. */
export function Changing({ value, children, class: className = "" }: { value: unknown; children: ComponentChildren; class?: string }) {
  const flash = useFlash(value);
  return <span class={`changing ${className} ${flash ? "flash" : ""}`}>{children}</span>;
}

export type Segment = { value: number; tone: "ok" | "bad" | "wait" | "info" };

/** A horizontal bar of `segments`, `scale` being the value of the full width. */
export function Bar({ segments, scale }: { segments: Segment[]; scale: number }) {
  return (
    <div class="bar" aria-hidden="true">
      {segments.map((s, i) =>
        s.value > 0 ? <span key={i} class={`bar-part ${s.tone}`} style={{ width: `${(100 * s.value) / Math.max(scale, 1)}%` }} /> : null,
      )}
    </div>
  );
}

export function Legend({ items }: { items: [Segment["tone"], string][] }) {
  return (
    <ul class="legend" aria-hidden="true">
      {items.map(([tone, label]) => (
        <li key={tone}>
          <span class={`swatch ${tone}`} />
          {label}
        </li>
      ))}
    </ul>
  );
}

// ---- the satisfaction gauge ------------------------------------------------------------------

const LOW = 25;
const HIGH = 100;
const CX = 150;
const CY = 150;
const R = 118;
const WIDTH = 30;

/** The point at `value` on the half circle of radius `r` (25 on the left, 100 on the right). */
function at(value: number, r: number): [number, number] {
  const share = (Math.min(Math.max(value, LOW), HIGH) - LOW) / (HIGH - LOW);
  const angle = Math.PI * (1 - share);
  return [CX + r * Math.cos(angle), CY - r * Math.sin(angle)];
}

function arc(from: number, to: number): string {
  const [x1, y1] = at(from, R);
  const [x2, y2] = at(to, R);
  return `M ${x1.toFixed(1)} ${y1.toFixed(1)} A ${R} ${R} 0 0 1 ${x2.toFixed(1)} ${y2.toFixed(1)}`;
}

type GaugeProps = {
  ikm: number | null;
  grade: { code: string; label: { id: string; en: string } } | null;
  marker?: { ikm: number; name: string } | null;
};

/** The index on a half circle coloured by grade bands, with an optional second marker. */
export function Gauge({ ikm, grade, marker }: GaugeProps) {
  const [nx, ny] = at(ikm ?? LOW, R - WIDTH / 2 - 10);
  const label =
    ikm === null
      ? t("Indeks kepuasan masyarakat: belum ada penilaian", "Satisfaction index: no ratings yet")
      : t(
          `Indeks kepuasan masyarakat ${number(ikm, 2)} dari 100, mutu ${grade?.code ?? ""} ${loc(grade?.label)}`,
          `Satisfaction index ${number(ikm, 2)} of 100, grade ${grade?.code ?? ""} ${loc(grade?.label)}`,
        ) + (marker ? t(`; ${marker.name} ${number(marker.ikm, 2)}`, `; ${marker.name} ${number(marker.ikm, 2)}`) : "");
  return (
    <svg class="gauge" viewBox="0 0 300 165" role="img" aria-label={label}>
      {GRADE_BANDS.map((band) => (
        <path key={band.code} d={arc(band.min, band.max)} class={`band band-${band.code}`} stroke-width={WIDTH} fill="none" />
      ))}
      {GRADE_BANDS.map((band) => {
        const [x, y] = at((band.min + band.max) / 2, R + WIDTH / 2 + 12);
        return (
          <text key={band.code} x={x} y={y} class="band-label" text-anchor="middle" dominant-baseline="middle">
            {band.code}
          </text>
        );
      })}
      {marker && <Marker value={marker.ikm} />}
      {ikm !== null && (
        <g class="needle">
          <line x1={CX} y1={CY} x2={nx} y2={ny} stroke-width="6" stroke-linecap="round" />
          <circle cx={CX} cy={CY} r="10" />
        </g>
      )}
    </svg>
  );
}

function Marker({ value }: { value: number }) {
  const [x1, y1] = at(value, R - WIDTH / 2 - 4);
  const [x2, y2] = at(value, R + WIDTH / 2 + 4);
  return <line class="marker" x1={x1} y1={y1} x2={x2} y2={y2} stroke-width="6" stroke-linecap="round" />;
}
