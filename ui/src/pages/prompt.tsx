//! TEMPORARY scaffold: replaced by the page's real implementation.
import { useTitle } from '../lib/title';

export default function Page() {
  useTitle('prompt');
  return <h1>prompt</h1>;
}
