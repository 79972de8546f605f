// Sign up (email + password, then the emailed code) and sign in.
import { useState } from 'preact/hooks';
import { api, errorOf, say, signedIn, type ApiError } from '../api';
import { Link, navigate } from '../router';
import { ErrorText, Shell } from '../ui';

function fieldError(e: ApiError | undefined, field: string) { return e && e.field === field ? say(e) : undefined; }

export function SignUp() {
  const [step, setStep] = useState<'form' | 'code'>('form');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [handle, setHandle] = useState('');
  const [code, setCode] = useState('');
  const [err, setErr] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setErr(undefined);
    const { error } = await api.POST('/v1/auth/signup', { body: { email, password, handle: handle || undefined } });
    setBusy(false);
    if (error) return setErr(errorOf(error));
    setStep('code');
  };
  const verify = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setErr(undefined);
    const { data, error } = await api.POST('/v1/auth/verify-email', { body: { email, code: code.trim(), device: 'web' } });
    setBusy(false);
    if (error || !data?.data) return setErr(errorOf(error));
    signedIn(data.data);
    navigate('/settings?welcome=1');
  };

  return (
    <Shell title="Sign up">
      <section class="narrow">
        <h1>Create your account</h1>
        {step === 'form' ? (
          <form onSubmit={submit} noValidate={false}>
            <label for="su-email">Email</label>
            <input id="su-email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)}
              aria-invalid={!!fieldError(err, 'email')} aria-describedby="su-err" />
            <label for="su-handle">Handle <span class="muted">(optional, shown as @handle)</span></label>
            <input id="su-handle" autoComplete="username" minLength={3} maxLength={30} pattern="[A-Za-z0-9][A-Za-z0-9_.]*" value={handle}
              onInput={(e) => setHandle(e.currentTarget.value)} aria-invalid={!!fieldError(err, 'handle')} aria-describedby="su-err" />
            <label for="su-password">Password</label>
            <input id="su-password" type="password" autoComplete="new-password" required minLength={8} value={password}
              onInput={(e) => setPassword(e.currentTarget.value)} aria-invalid={!!fieldError(err, 'password')} aria-describedby="su-pw-hint su-err" />
            <p id="su-pw-hint" class="hint">At least 8 characters.</p>
            <ErrorText id="su-err" msg={say(err)} />
            <button class="btn" type="submit" disabled={busy}>{busy ? 'Creating…' : 'Sign up'}</button>
            <p class="muted">Already have an account? <Link href="/signin">Sign in</Link></p>
          </form>
        ) : (
          <form onSubmit={verify}>
            <p role="status">We sent a code to <strong>{email}</strong>. Enter it to confirm your email.</p>
            <label for="su-code">Code</label>
            <input id="su-code" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)}
              aria-invalid={!!err} aria-describedby="su-err" />
            <ErrorText id="su-err" msg={say(err)} />
            <button class="btn" type="submit" disabled={busy}>{busy ? 'Checking…' : 'Confirm'}</button>
            <button class="link" type="button" onClick={() => { setStep('form'); setErr(undefined); }}>Use another email</button>
          </form>
        )}
      </section>
    </Shell>
  );
}

export function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [err, setErr] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setErr(undefined);
    const { data, error } = await api.POST('/v1/auth/signin', { body: { email, password, totp: totp || undefined, device: 'web' } });
    setBusy(false);
    if (error || !data?.data) {
      const x = errorOf(error);
      if (x.code === 'totp_required') { setNeedTotp(true); return; }
      return setErr(x);
    }
    signedIn(data.data);
    const next = new URLSearchParams(location.search).get('next');
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
  };
  return (
    <Shell title="Sign in">
      <section class="narrow">
        <h1>Sign in</h1>
        <form onSubmit={submit}>
          <label for="si-email">Email</label>
          <input id="si-email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} aria-describedby="si-err" />
          <label for="si-password">Password</label>
          <input id="si-password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} aria-describedby="si-err" />
          {needTotp && (<>
            <label for="si-totp">Authenticator code</label>
            <input id="si-totp" inputMode="numeric" autoComplete="one-time-code" required value={totp} onInput={(e) => setTotp(e.currentTarget.value)} />
          </>)}
          <ErrorText id="si-err" msg={say(err)} />
          <button class="btn" type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
          <p class="muted">New here? <Link href="/signup">Create an account</Link></p>
        </form>
      </section>
    </Shell>
  );
}
