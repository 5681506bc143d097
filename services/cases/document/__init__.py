"""Case documents (案卷材料): files uploaded through intake's tus endpoint and attached to a case."""
