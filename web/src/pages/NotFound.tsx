import { Link } from '../router';
import { Shell } from '../ui';

export function NotFound() {
  return (
    <Shell title="Page not found">
      <section class="narrow center">
        <h1>Page not found</h1>
        <p class="muted">There is nothing at this address. The stream may have ended or the link may be mistyped.</p>
        <p><Link href="/" class="btn">Go to live streams</Link></p>
      </section>
    </Shell>
  );
}
