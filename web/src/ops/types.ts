// The shape of one `figures` event of GET /api/v1/ops/live (gateway/gateway/live.py): each part
// as its service answers it, null when it could not be read (why in `errors`).
import type { Schemas } from "../lib/api";

export type Summary = Schemas["Summary"];
export type AgencyFigures = Schemas["AgencyFigures"];
export type IkmReport = Schemas["IkmReport"];
export type AgencyIkm = Schemas["AgencyIkm"];
export type Grade = Schemas["Grade"];
export type Agency = Schemas["Agency"];

/** Messages by status (services/notifications/notifications/figures.py). */
export type Counts = {
  total: number;
  by_status: Record<string, number>;
  failed: number;
  delivery_rate: number | null;
};
export type ChannelCounts = Counts & { channel: string };
export type Period = Counts & { since: string; channels: ChannelCounts[]; unaddressed_staff_alerts: number };
export type DeliveryFigures = { at: string; timezone: string; today: Period; last_24h: Period };

/** Consumer lag and dead letters (gateway/gateway/pipeline.py). */
export type PipelineHealth = {
  at: string;
  available: boolean;
  reason?: string | null;
  consumers: { group: string; lag: number }[];
  dead_letters: { topic: string; size: number }[];
  total_lag: number | null;
  total_dead_letters: number | null;
};

export type PartName = "applications" | "ikm" | "deliveries" | "pipeline";

export type Figures = {
  at: string;
  applications: Summary | null;
  ikm: IkmReport | null;
  deliveries: DeliveryFigures | null;
  pipeline: PipelineHealth | null;
  errors: Partial<Record<PartName, string>>;
};

/** What the screen shows: a part not received yet is undefined (still loading). */
export type Board = {
  at: string | null;
  applications?: Summary | null;
  ikm?: IkmReport | null;
  deliveries?: DeliveryFigures | null;
  pipeline?: PipelineHealth | null;
  errors: Partial<Record<PartName, string>>;
};
