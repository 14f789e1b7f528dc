// Register with NIK and phone, verify the phone with the SMS code, sign in.
import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { ok } from "../../lib/api";
import { digitsOf, emailProblem, mobileE164, nikProblem, phoneProblem, REQUIRED } from "../../lib/formats";
import { lang, loc, t, type Localized } from "../../lib/i18n";
import { ErrorBox, ErrorSummary, Field, useAction } from "../../lib/ui";
import { api, session } from "../session";

function fieldError(error: unknown, name: string): string | undefined {
  const errors = (error as { errors?: { field: string; message: string }[] } | null)?.errors ?? [];
  return errors.find((e) => e.field === name || e.field.endsWith(`.${name}`))?.message;
}

export function SignIn({ next }: { next?: string }) {
  const { route, query } = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction();
  const target = next && next !== "/masuk" ? next : query.next || "/permohonan";
  const submit = async (e: Event) => {
    e.preventDefault();
    const done = await run(() => session.signIn(username.trim(), password));
    if (done) route(target);
  };
  return (
    <section class="narrow">
      <h1>{t("Masuk", "Sign in")}</h1>
      <form onSubmit={submit} class="card" noValidate>
        <Field label={t("NIK atau nomor ponsel", "NIK or mobile number")}>
          {(p) => (
            <input {...p} name="username" autocomplete="username" inputMode="numeric" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
          )}
        </Field>
        <Field label={t("Kata sandi", "Password")}>
          {(p) => (
            <input {...p} name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          )}
        </Field>
        <ErrorBox error={error} />
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? t("Memeriksa…", "Checking…") : t("Masuk", "Sign in")}
        </button>
      </form>
      <p class="center">
        {t("Belum punya akun?", "No account yet?")} <a href="/daftar">{t("Daftar dengan NIK", "Register with your NIK")}</a>
      </p>
    </section>
  );
}

type RegisterForm = { nik: string; name: string; phone: string; email: string; password: string };

/** Every problem of the registration at once, with the server's rules and words. */
function registrationProblems(form: RegisterForm): [keyof RegisterForm, Localized][] {
  const found: [keyof RegisterForm, Localized | null][] = [
    ["nik", nikProblem(form.nik)],
    ["name", !form.name.trim() ? REQUIRED : form.name.trim().length < 2 ? { id: "Terlalu pendek (minimal 2 karakter).", en: "Too short (at least 2 characters)." } : null],
    ["phone", phoneProblem(form.phone)],
    ["email", form.email.trim() ? emailProblem(form.email) : null],
    ["password", !form.password ? REQUIRED : form.password.length < 8 ? { id: "Paling sedikit 8 karakter.", en: "At least 8 characters." } : null],
  ];
  return found.filter((f): f is [keyof RegisterForm, Localized] => f[1] !== null);
}

export function Register() {
  const { route } = useLocation();
  const [form, setForm] = useState<RegisterForm>({ nik: "", name: "", phone: "", email: "", password: "" });
  const [attempt, setAttempt] = useState(0);
  const { busy, error, setError, run } = useAction();
  const change = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value });
  const labels: Record<keyof RegisterForm, string> = {
    nik: "NIK",
    name: t("Nama lengkap", "Full name"),
    phone: t("Nomor ponsel", "Mobile number"),
    email: t("E-mail (tidak wajib)", "E-mail (optional)"),
    password: t("Kata sandi", "Password"),
  };
  // Checked on the phone before sending, then again as it is typed: every problem at once.
  const problems = attempt ? registrationProblems(form) : [];
  const problemOf = (name: keyof RegisterForm) => loc(problems.find(([field]) => field === name)?.[1]) || fieldError(error, name);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (registrationProblems(form).length) {
      setError(null);
      setAttempt((n) => n + 1);
      return;
    }
    const phone = mobileE164(form.phone) ?? form.phone.trim();
    const body = { nik: digitsOf(form.nik), name: form.name.trim(), phone, password: form.password, language: lang, ...(form.email.trim() ? { email: form.email.trim() } : {}) };
    const done = await run(() => ok(api.POST("/api/v1/auth/register", { body })));
    if (done) route(`/verifikasi-ponsel?phone=${encodeURIComponent(phone)}&to=${encodeURIComponent(done.otp_sent_to)}`);
  };
  return (
    <section class="narrow">
      <h1>{t("Daftar", "Register")}</h1>
      <p class="muted">{t("Satu akun untuk semua layanan di MPP. Kode verifikasi dikirim lewat SMS.", "One account for every service in the mall. A verification code is sent by SMS.")}</p>
      <ErrorSummary attempt={attempt} problems={problems.map(([name, message]) => ({ id: `register-${name}`, label: labels[name], message: loc(message) }))} />
      <form onSubmit={submit} class="card" noValidate>
        <Field id="register-nik" label={labels.nik} hint={t("16 angka, sesuai KTP", "16 digits, as on your ID card")} error={problemOf("nik")}>
          {(p) => <input {...p} name="nik" inputMode="numeric" autocomplete="off" required value={form.nik} onInput={change("nik")} />}
        </Field>
        <Field id="register-name" label={labels.name} error={problemOf("name")}>
          {(p) => <input {...p} name="name" autocomplete="name" required value={form.name} onInput={change("name")} />}
        </Field>
        <Field id="register-phone" label={labels.phone} hint={t("Contoh: 0812 3456 7890", "For example 0812 3456 7890")} error={problemOf("phone")}>
          {(p) => <input {...p} name="phone" type="tel" autocomplete="tel" required value={form.phone} onInput={change("phone")} />}
        </Field>
        <Field id="register-email" label={labels.email} error={problemOf("email")}>
          {(p) => <input {...p} name="email" type="email" autocomplete="email" value={form.email} onInput={change("email")} />}
        </Field>
        <Field
          id="register-password"
          label={labels.password}
          hint={t("Paling sedikit 8 karakter; kalimat pendek lebih mudah diingat dan sulit ditebak.", "At least 8 characters; a short sentence is easy to remember and hard to guess.")}
          error={problemOf("password")}
        >
          {(p) => <input {...p} name="password" type="password" autocomplete="new-password" required value={form.password} onInput={change("password")} />}
        </Field>
        <ErrorBox error={error} labels={labels} />
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? t("Mengirim…", "Sending…") : t("Daftar dan kirim kode", "Register and send the code")}
        </button>
      </form>
      <p class="center">
        {t("Sudah punya akun?", "Already registered?")} <a href="/masuk">{t("Masuk", "Sign in")}</a>
      </p>
    </section>
  );
}

export function VerifyPhone() {
  const { route, query } = useLocation();
  const [phone, setPhone] = useState(query.phone ?? "");
  const [code, setCode] = useState("");
  const [sent, setSent] = useState<string | null>(query.to ?? null);
  const { busy, error, run } = useAction();
  const verify = async (e: Event) => {
    e.preventDefault();
    const pair = await run(() => ok(api.POST("/api/v1/auth/verify-phone", { body: { phone: phone.trim(), code: code.trim() } })));
    if (pair) {
      session.store(pair);
      route("/");
    }
  };
  const resend = async () => {
    const done = await run(() => ok(api.POST("/api/v1/auth/otp", { body: { phone: phone.trim(), purpose: "verify_phone" } })));
    if (done) setSent(done.sent_to);
  };
  return (
    <section class="narrow">
      <h1>{t("Verifikasi nomor ponsel", "Verify your mobile number")}</h1>
      {sent && (
        <p class="notice" role="status">
          {t(`Kode 6 angka sudah dikirim ke ${sent}.`, `A 6-digit code was sent to ${sent}.`)}
        </p>
      )}
      <form onSubmit={verify} class="card" noValidate>
        <Field label={t("Nomor ponsel", "Mobile number")}>
          {(p) => <input {...p} name="phone" type="tel" autocomplete="tel" required value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />}
        </Field>
        <Field label={t("Kode dari SMS", "Code from the SMS")}>
          {(p) => (
            <input {...p} name="code" inputMode="numeric" autocomplete="one-time-code" maxLength={6} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          )}
        </Field>
        <ErrorBox error={error} />
        <button type="submit" class="primary wide" disabled={busy}>
          {t("Verifikasi", "Verify")}
        </button>
        <button type="button" class="link" onClick={resend} disabled={busy}>
          {t("Kirim ulang kode", "Send the code again")}
        </button>
      </form>
    </section>
  );
}
