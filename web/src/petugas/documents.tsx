// The documents the citizen attached, per requirement, with a preview fetched on request
// (download links are valid for a minute only, so each preview asks for a fresh one).
import { useState } from "preact/hooks";
import type { Schemas } from "../lib/api";
import { dateTime, loc, t } from "../lib/i18n";
import { ErrorBox, Loading, useAction, useLoad } from "../lib/ui";
import { fileSize } from "./format";
import { api, ok } from "./session";

type Requirement = Schemas["Requirement"];
type DocumentView = Schemas["DocumentView"];
type Link = Schemas["Link"];

const FRESH_MS = 50_000; // links expire after 60 s

async function contentLink(id: string): Promise<Link> {
  const link = await ok(api.GET("/api/v1/documents/{document_id}/content", { params: { path: { document_id: id }, query: { redirect: false } } }));
  return link as Link;
}

export function Documents({ documents, requirements }: { documents: Record<string, string[]>; requirements: Requirement[] }) {
  const known = new Set(requirements.map((r) => r.code));
  const extra = Object.keys(documents).filter((code) => !known.has(code));
  return (
    <ul class="requirements">
      {requirements.map((requirement) => (
        <RequirementItem key={requirement.code} code={requirement.code} requirement={requirement} ids={documents[requirement.code] ?? []} />
      ))}
      {extra.map((code) => (
        <RequirementItem key={code} code={code} ids={documents[code]} />
      ))}
    </ul>
  );
}

function RequirementItem({ code, requirement, ids }: { code: string; requirement?: Requirement; ids: string[] }) {
  const mandatory = requirement?.mandatory ?? false;
  return (
    <li class="requirement">
      <div class="requirement-head">
        <h3>{requirement ? loc(requirement.name) : code}</h3>
        {mandatory ? <span class="badge">{t("Wajib", "Required")}</span> : <span class="badge state-closed">{t("Opsional", "Optional")}</span>}
      </div>
      {ids.length === 0 ? (
        <p class={mandatory ? "missing" : "muted small"}>{t("Tidak dilampirkan.", "Not attached.")}</p>
      ) : (
        <ul class="files">
          {ids.map((id) => (
            <DocumentItem key={id} id={id} />
          ))}
        </ul>
      )}
    </li>
  );
}

function DocumentItem({ id }: { id: string }) {
  const meta = useLoad(() => ok(api.GET("/api/v1/documents/{document_id}", { params: { path: { document_id: id } } })), [id]);
  const [link, setLink] = useState<{ url: string; at: number } | null>(null);
  const [open, setOpen] = useState(false);
  const { busy, error, run } = useAction();
  const previewId = `preview-${id}`;
  const doc = meta.data;

  const toggle = async () => {
    if (open) {
      setOpen(false);
      return;
    }
    setOpen(true);
    setLink(null); // a link fetched earlier may have expired
    const fresh = await run(() => contentLink(id));
    if (fresh) setLink({ url: fresh.url, at: Date.now() });
  };
  // The open link is renewed on click when it is close to expiring.
  const openInTab = async (event: MouseEvent) => {
    if (link && Date.now() - link.at < FRESH_MS) return;
    event.preventDefault();
    const fresh = await run(() => contentLink(id));
    if (!fresh) return;
    setLink({ url: fresh.url, at: Date.now() });
    window.open(fresh.url, "_blank", "noopener");
  };

  if (!doc) {
    return (
      <li class="file">
        {meta.error ? (
          <div class="row">
            <ErrorBox error={meta.error} />
            {/* A just-submitted application's documents reach the agency a moment later. */}
            <button type="button" onClick={meta.reload} disabled={meta.loading}>
              {t("Coba lagi", "Try again")}
            </button>
          </div>
        ) : (
          <Loading />
        )}
      </li>
    );
  }
  return (
    <li class="file">
      <div class="file-row">
        <span class="file-name">
          <strong>{doc.filename}</strong>
          <span class="muted small">
            {[kind(doc), fileSize(doc.size), dateTime(doc.created_at)].filter(Boolean).join(" · ")}
          </span>
        </span>
        <DocumentStatus doc={doc} />
        <button type="button" aria-expanded={open} aria-controls={previewId} onClick={() => void toggle()}>
          {open ? t("Tutup pratinjau", "Close preview") : t("Pratinjau", "Preview")}
          <span class="visually-hidden"> {doc.filename}</span>
        </button>
      </div>
      <div id={previewId} class="preview" hidden={!open}>
        <ErrorBox error={error} />
        {open && busy && !link && <Loading label={t("Mengambil dokumen…", "Fetching the document…")} />}
        {open && link && (
          <>
            <Preview doc={doc} url={link.url} />
            <p class="small">
              <a href={link.url} target="_blank" rel="noopener noreferrer" onClick={(e) => void openInTab(e)}>
                {t("Buka di tab baru", "Open in a new tab")}
                <span class="visually-hidden"> ({doc.filename})</span>
              </a>{" "}
              <span class="muted">{t("Tautan berlaku satu menit.", "The link is valid for one minute.")}</span>
            </p>
          </>
        )}
      </div>
    </li>
  );
}

function kind(doc: DocumentView): string {
  const type = doc.content_type ?? "";
  if (type === "application/pdf") return "PDF";
  if (type.startsWith("image/")) return type.slice(6).toUpperCase();
  return type;
}

function DocumentStatus({ doc }: { doc: DocumentView }) {
  if (doc.status === "available") return <span class="badge ok">{t("Tersedia", "Available")}</span>;
  if (doc.status === "rejected") {
    const reason = doc.reason ? loc({ id: doc.reason.id ?? "", en: doc.reason.en ?? "" }) : "";
    return <span class="badge bad">{t("Ditolak", "Rejected")}{reason ? `: ${reason}` : ""}</span>;
  }
  if (doc.status === "pending") return <span class="badge warn">{t("Sedang diperiksa", "Being checked")}</span>;
  return <span class="badge state-closed">{doc.status}</span>;
}

function Preview({ doc, url }: { doc: DocumentView; url: string }) {
  const type = doc.content_type ?? "";
  if (type.startsWith("image/")) return <img class="preview-image" src={url} alt={t(`Pratinjau ${doc.filename}`, `Preview of ${doc.filename}`)} />;
  if (type === "application/pdf") return <iframe class="preview-pdf" src={url} title={t(`Pratinjau ${doc.filename}`, `Preview of ${doc.filename}`)} />;
  return <p class="muted">{t("Jenis berkas ini tidak dapat ditampilkan di sini; buka di tab baru.", "This kind of file cannot be shown here; open it in a new tab.")}</p>;
}
