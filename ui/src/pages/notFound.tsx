//! The page for a hash route that matches no page.
import { EmptyState } from '../components/Status';
import { useTitle } from '../lib/title';

export default function NotFoundPage({ path }: { path: string }) {
  useTitle('Not found');
  return (
    <section>
      <div class="page-header">
        <h1>Page not found</h1>
      </div>
      <EmptyState title={`Nothing lives at ${path}`}>
        <p>
          The link may be from an older version or mistyped. <a href="#/">Go to the experiments</a>.
        </p>
      </EmptyState>
    </section>
  );
}
