// Static pages the master serves itself (written next to its config, into its htmlDir).
// Plain HTML, no user data.

/** The master's answer when no upstream could serve (502/504) or nginx itself failed. */
export const ERROR_PAGE_50X_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Temporarily unavailable</title>
</head>
<body>
<h1>Temporarily unavailable</h1>
<p>The image service could not answer this request. Please try again shortly.</p>
</body>
</html>
`;
