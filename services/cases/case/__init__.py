"""Cases (案件): made from grid workers' reports, read in scope, acted on (action/), with their timeline."""
