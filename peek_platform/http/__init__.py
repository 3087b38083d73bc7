"""HTTP pieces shared by the services' web sites (plugin resource trees)."""
