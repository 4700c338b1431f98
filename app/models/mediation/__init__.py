"""The mediation log (矛盾纠纷调解): cases, their workflow and the monthly report."""
