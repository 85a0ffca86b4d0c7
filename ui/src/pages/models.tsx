//! TEMPORARY scaffold: replaced by the page's real implementation.
import { useTitle } from '../lib/title';

export default function Page() {
  useTitle('models');
  return <h1>models</h1>;
}
