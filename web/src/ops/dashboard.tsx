// The wall: figures painted once from the API, then kept current by the live stream.
import { useEffect, useState } from "preact/hooks";
import { ok } from "../lib/api";
import { loc } from "../lib/i18n";
import { useLoad } from "../lib/ui";
import { Header } from "./header";
import { followLive, type LiveState } from "./live";
import { Agencies } from "./panels/agencies";
import { Deliveries } from "./panels/deliveries";
import { Ikm } from "./panels/ikm";
import { Pipeline } from "./panels/pipeline";
import { States } from "./panels/states";
import { Tiles } from "./panels/tiles";
import { Refused } from "./refused";
import { api, session } from "./session";
import type { Agency, Board } from "./types";

const CHOSEN_KEY = "mpp.ops.agency";

async function loadAgencies(): Promise<Agency[]> {
  const all: Agency[] = [];
  let cursor: string | undefined;
  do {
    const page = await ok(api.GET("/api/v1/catalog/agencies", { params: { query: { limit: 100, cursor } } }));
    all.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

/** The figures: the API's answers at first, then every `figures` event as it comes. */
function useBoard(): [Board, LiveState] {
  const [board, setBoard] = useState<Board>({ at: null, errors: {} });
  const [live, setLive] = useState<LiveState>({ kind: "connecting" });
  useEffect(() => {
    const controller = new AbortController();
    void Promise.allSettled([ok(api.GET("/api/v1/ops/summary")), ok(api.GET("/api/v1/ops/ikm"))]).then(([summary, ikm]) => {
      if (controller.signal.aborted) return;
      setBoard((shown) =>
        shown.at !== null
          ? shown // the stream was quicker
          : {
              ...shown,
              applications: summary.status === "fulfilled" ? summary.value : shown.applications,
              ikm: ikm.status === "fulfilled" ? ikm.value : shown.ikm,
            },
      );
    });
    void followLive(session, { onFigures: setBoard, onState: setLive }, controller.signal);
    return () => controller.abort();
  }, []);
  return [board, live];
}

function useChosen(): [string, (code: string) => void] {
  const [chosen, setChosen] = useState(() => localStorage.getItem(CHOSEN_KEY) ?? "");
  const choose = (code: string) => {
    localStorage.setItem(CHOSEN_KEY, code);
    setChosen(code);
  };
  return [chosen, choose];
}

export function Dashboard() {
  const [board, live] = useBoard();
  const [chosen, choose] = useChosen();
  const agencies = useLoad(loadAgencies, []);
  if (live.kind === "refused") return <Refused message={live.message} />;
  const known = agencies.data ?? [];
  const chosenAgency = known.find((a) => a.code === chosen);
  return (
    <div class="ops">
      <Header live={live} lastAt={board.at} agencies={known} chosen={chosen} choose={choose} />
      <main id="main" class="board">
        <Tiles board={board} />
        <div class="panels">
          <Agencies
            agencies={agencies.data ?? (agencies.error ? [] : undefined)}
            summary={board.applications}
            ikm={board.ikm?.agencies ?? []}
            error={board.errors.applications}
            chosen={chosen}
          />
          <States summary={board.applications} error={board.errors.applications} />
          <Ikm
            report={board.ikm}
            error={board.errors.ikm}
            chosen={chosenAgency ? { code: chosenAgency.code, name: chosenAgency.short_name || loc(chosenAgency.name) } : null}
          />
          <Deliveries figures={board.deliveries} error={board.errors.deliveries} />
          <Pipeline health={board.pipeline} error={board.errors.pipeline} />
        </div>
      </main>
    </div>
  );
}
