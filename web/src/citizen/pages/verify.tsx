// Public: is this document authentic? The code printed under the QR code of an issued document,
// typed or scanned from a photo (decoded on the phone), shows whether the document is valid,
// revoked or unknown; a file received from someone can be checked against the original; and
// the holder opens the document with the PIN sent by SMS.
import { useLocation } from "preact-iso";
import { useRef, useState } from "preact/hooks";
import { ApiError, ok, upload, type Schemas } from "../../lib/api";
import { date, dateTime, loc, t } from "../../lib/i18n";
import { ErrorBox, Field, Loading, useAction, useLoad } from "../../lib/ui";
import { api, session } from "../session";
import "./more.css";

type Verification = Schemas["Verification"];
type FileCheck = Schemas["FileCheck"];

/** The API's {id, en} texts typed as plain records. */
function text(record: Record<string, string> | null | undefined): string {
  return record ? loc({ id: record.id ?? "", en: record.en ?? "" }) : "";
}

const ICONS = {
  check: "M20 6 9 17l-5-5",
  cross: "M18 6 6 18M6 6l12 12",
  clock: "M12 7v5l3 3M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z",
};

function Icon({ path }: { path: string }) {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d={path} />
    </svg>
  );
}

export function VerifyDocument({ code }: { code?: string }) {
  return (
    <section>
      <h1>{t("Cek keaslian dokumen", "Check a document")}</h1>
      {code ? <Result code={code} /> : <CodeEntry />}
    </section>
  );
}

// ---- typing or scanning the code -------------------------------------------------------------

/** The code in what a QR code holds: a URL ending in /verify/<code>, or the code itself. */
function codeIn(content: string): string | null {
  const found = /\/verify\/([^/?#\s]+)\/?(?:[?#].*)?$/.exec(content.trim());
  if (found) return decodeURIComponent(found[1]);
  const bare = content.trim();
  return /^[A-Za-z0-9-]{6,40}$/.test(bare) ? bare : null;
}

function CodeEntry() {
  const { route } = useLocation();
  const [code, setCode] = useState("");
  const [scanning, setScanning] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const photo = useRef<HTMLInputElement>(null);

  const submit = (e: Event) => {
    e.preventDefault();
    const typed = code.trim().toUpperCase();
    if (!typed) return setError(new Error(t("Ketik kode verifikasi.", "Type the verification code.")));
    route(`/verify/${encodeURIComponent(typed)}`);
  };
  const scan = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    setScanning(true);
    try {
      const content = await decodeQr(file);
      const found = content === null ? null : codeIn(content);
      if (content === null) setError(new Error(t("Kode QR tidak terbaca. Foto lebih dekat, lurus dan terang, atau ketik kodenya.", "The QR code could not be read. Take the photo closer, straight and well lit, or type the code.")));
      else if (!found) setError(new Error(t("Kode QR ini bukan kode dokumen MPP.", "This QR code is not an MPP document code.")));
      else route(`/verify/${encodeURIComponent(found)}`);
    } catch {
      setError(new Error(t("Foto tidak dapat dibuka. Coba foto lain.", "The photo could not be opened. Try another one.")));
    } finally {
      setScanning(false);
    }
  };

  return (
    <>
      <p class="muted">
        {t(
          "Setiap dokumen yang diterbitkan MPP memuat kode QR dan kode verifikasi. Periksa di sini apakah dokumen itu asli dan masih berlaku.",
          "Every document the mall issues carries a QR code and a verification code. Check here whether it is authentic and still valid.",
        )}
      </p>
      <form class="card" onSubmit={submit} noValidate>
        <Field label={t("Kode verifikasi", "Verification code")} hint={t("Tertera di bawah kode QR, contoh K7QM-3XRT-9HWA", "Printed under the QR code, e.g. K7QM-3XRT-9HWA")}>
          {(p) => <input {...p} class="code-input mono" name="code" autocomplete="off" autocapitalize="characters" spellcheck={false} value={code} onInput={(e) => setCode(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="primary wide">
          {t("Periksa", "Check")}
        </button>
        <p class="or">{t("atau", "or")}</p>
        <input
          ref={photo}
          id="qr-photo"
          class="visually-hidden"
          type="file"
          accept="image/*"
          capture="environment"
          tabIndex={-1}
          aria-label={t("Foto kode QR", "Photo of the QR code")}
          onChange={(e) => (void scan(e.currentTarget.files?.[0]), (e.currentTarget.value = ""))}
        />
        <button type="button" class="wide scan" disabled={scanning} onClick={() => photo.current?.click()}>
          <Icon path="M4 8V5a1 1 0 0 1 1-1h3M16 4h3a1 1 0 0 1 1 1v3M20 16v3a1 1 0 0 1-1 1h-3M8 20H5a1 1 0 0 1-1-1v-3M8 8h3v3H8zM13 13h3v3h-3z" />
          {scanning ? t("Membaca kode QR…", "Reading the QR code…") : t("Pindai kode QR dengan kamera", "Scan the QR code with the camera")}
        </button>
        <p role="status" class="visually-hidden">
          {scanning ? t("Membaca kode QR…", "Reading the QR code…") : ""}
        </p>
        <ErrorBox error={error} />
      </form>
    </>
  );
}

/** The text of the QR code in a photo, read on the phone (jsQR is loaded only when needed). */
async function decodeQr(file: File): Promise<string | null> {
  const module = await import("jsqr");
  // The CommonJS package may arrive wrapped once more, depending on the bundler's interop.
  const jsQR = ((module.default as unknown as { default?: typeof module.default }).default ?? module.default) as typeof module.default;
  const bitmap = await createImageBitmap(file);
  try {
    // A phone photo is large; a smaller copy reads faster, the full one catches a small code.
    for (const side of [1000, 2000]) {
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      const width = Math.round(bitmap.width * scale);
      const height = Math.round(bitmap.height * scale);
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      if (!context) return null;
      context.drawImage(bitmap, 0, 0, width, height);
      const found = jsQR(context.getImageData(0, 0, width, height).data, width, height);
      if (found?.data) return found.data;
      if (scale === 1) break;
    }
    return null;
  } finally {
    bitmap.close();
  }
}

// ---- the verdict -----------------------------------------------------------------------------

function Result({ code }: { code: string }) {
  const found = useLoad(() => ok(api.GET("/api/v1/verify/{code}", { params: { path: { code } } })), [code]);
  if (found.error instanceof ApiError && found.error.status === 404) return <NotFound code={code} />;
  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.data) return <Loading label={t("Memeriksa dokumen…", "Checking the document…")} />;
  const v = found.data;
  return (
    <>
      <Verdict v={v} />
      <dl class="facts-stack card">
        <dt>{t("Dokumen", "Document")}</dt>
        <dd>
          <strong>{text(v.title)}</strong>
        </dd>
        <dt>{t("Layanan", "Service")}</dt>
        <dd>{text(v.service_name)}</dd>
        <dt>{t("Instansi", "Agency")}</dt>
        <dd>{text(v.agency_name) || v.agency}</dd>
        <dt>{t("Nomor permohonan", "Tracking number")}</dt>
        <dd class="mono">{v.tracking_number}</dd>
        <dt>{t("Pemegang", "Holder")}</dt>
        <dd>{v.holder}</dd>
        <dt>{t("Diterbitkan", "Issued")}</dt>
        <dd>{dateTime(v.issued_at)}</dd>
        <dt>{t("Berlaku sampai", "Valid until")}</dt>
        <dd>{v.valid_until ? date(v.valid_until) : t("Tanpa batas waktu", "No expiry")}</dd>
        <dt>{t("Kode verifikasi", "Verification code")}</dt>
        <dd class="mono">{v.verification_code}</dd>
      </dl>
      <CheckFile code={v.verification_code} />
      {v.status !== "revoked" && <PinDownload code={v.verification_code} />}
      <p class="center">
        <a href="/cek-dokumen">{t("Periksa dokumen lain", "Check another document")}</a>
      </p>
    </>
  );
}

function Verdict({ v }: { v: Verification }) {
  if (v.status === "valid")
    return (
      <div class="verdict valid" role="status">
        <Icon path={ICONS.check} />
        <div>
          <strong class="verdict-title">{t("SAH — dokumen asli", "VALID — authentic document")}</strong>
          <p>{t("Diterbitkan dan ditandatangani secara elektronik oleh instansi di MPP Sinjai, dan masih berlaku.", "Issued and electronically signed by an agency of the Sinjai mall, and still valid.")}</p>
        </div>
      </div>
    );
  if (v.status === "revoked")
    return (
      <div class="verdict bad" role="status">
        <Icon path={ICONS.cross} />
        <div>
          <strong class="verdict-title">{t("DICABUT — tidak berlaku", "REVOKED — no longer valid")}</strong>
          <p>
            {t("Dokumen ini asli tetapi telah dicabut oleh instansi penerbit", "This document is authentic but was revoked by its issuer")}
            {v.revoked_at && ` (${dateTime(v.revoked_at)})`}.
          </p>
          {v.revoked_reason && (
            <p>
              {t("Alasan", "Reason")}: {v.revoked_reason}
            </p>
          )}
        </div>
      </div>
    );
  return (
    <div class="verdict warn" role="status">
      <Icon path={ICONS.clock} />
      <div>
        <strong class="verdict-title">{t("KEDALUWARSA — masa berlaku habis", "EXPIRED — no longer valid")}</strong>
        <p>{t("Dokumen ini asli tetapi masa berlakunya sudah habis.", "This document is authentic but its validity has ended.")}</p>
      </div>
    </div>
  );
}

function NotFound({ code }: { code: string }) {
  return (
    <>
      <div class="verdict bad" role="status">
        <Icon path={ICONS.cross} />
        <div>
          <strong class="verdict-title">{t("TIDAK DITEMUKAN", "NOT FOUND")}</strong>
          <p>
            {t("Kode", "Code")}: <span class="mono">{code}</span>
          </p>
          <p>{t("Dokumen dengan kode ini tidak diterbitkan oleh MPP Sinjai. Jangan mempercayainya sebelum memeriksa kodenya lagi.", "No document with this code was issued by the Sinjai mall. Do not trust it before checking the code again.")}</p>
        </div>
      </div>
      <a class="button primary wide" href="/cek-dokumen">
        {t("Ketik atau pindai kode lagi", "Type or scan the code again")}
      </a>
    </>
  );
}

// ---- a file someone handed over, and the holder's download ----------------------------------

function CheckFile({ code }: { code: string }) {
  const [result, setResult] = useState<FileCheck | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const { busy, error, run } = useAction();
  const check = async (file: File | undefined) => {
    if (!file) return;
    setResult(null);
    const form = new FormData();
    form.append("file", file, file.name);
    const done = await run(() => upload<FileCheck>(session, `/verify/${encodeURIComponent(code)}/check`, form, setProgress));
    setProgress(null);
    if (done) setResult(done);
  };
  return (
    <div class="card">
      <h2>{t("Periksa berkas yang Anda terima", "Check a file you received")}</h2>
      <Field label={t("Berkas PDF", "PDF file")} hint={t("Berkas tidak disimpan; hanya dibandingkan dengan dokumen asli.", "The file is not kept; it is only compared with the original.")}>
        {(p) => <input {...p} type="file" accept="application/pdf,.pdf" disabled={busy} onChange={(e) => (void check(e.currentTarget.files?.[0]), (e.currentTarget.value = ""))} />}
      </Field>
      {busy && progress !== null && progress < 1 && <progress max={1} value={progress} aria-label={t("Mengunggah berkas", "Uploading the file")} />}
      {busy && <Loading label={t("Membandingkan…", "Comparing…")} />}
      <ErrorBox error={error} />
      {result && (
        <div class={result.authentic ? "verdict valid" : "verdict bad"} role="status">
          <Icon path={result.authentic ? ICONS.check : ICONS.cross} />
          <div>
            <strong class="verdict-title">{result.authentic ? t("Berkas asli", "Authentic file") : t("Bukan berkas asli", "Not the authentic file")}</strong>
            <p>{text(result.detail)}</p>
          </div>
        </div>
      )}
    </div>
  );
}

const minutes = (seconds: number) => Math.max(1, Math.round(seconds / 60));

function PinDownload({ code }: { code: string }) {
  const [pin, setPin] = useState("");
  const [link, setLink] = useState<Schemas["Link"] | null>(null);
  const { busy, error, run } = useAction();
  const open = async (e: Event) => {
    e.preventDefault();
    setLink(null);
    const done = await run(() => ok(api.POST("/api/v1/verify/{code}/download", { params: { path: { code } }, body: { pin: pin.trim() } })));
    if (done) setLink(done);
  };
  return (
    <form class="card" onSubmit={open} noValidate>
      <h2>{t("Unduh dokumen (pemegang)", "Download the document (holder)")}</h2>
      <Field label="PIN" hint={t("6 angka yang dikirim lewat SMS kepada pemegang dokumen", "The 6 digits sent by SMS to the document's holder")}>
        {(p) => <input {...p} class="code-input mono" name="pin" inputMode="numeric" autocomplete="off" maxLength={6} value={pin} onInput={(e) => setPin(e.currentTarget.value)} />}
      </Field>
      <ErrorBox error={error} />
      {link ? (
        <div class="success" role="status">
          <p>{t(`Tautan siap, berlaku ${minutes(link.expires_in)} menit.`, `The link is ready, for ${minutes(link.expires_in)} minute(s).`)}</p>
          <a class="button primary wide" href={link.url} target="_blank" rel="noopener noreferrer">
            {t("Unduh dokumen", "Download the document")}
          </a>
        </div>
      ) : (
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? t("Memeriksa PIN…", "Checking the PIN…") : t("Buka dokumen", "Open the document")}
        </button>
      )}
    </form>
  );
}
