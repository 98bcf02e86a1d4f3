-- enspiral update 0.1.0 -> 0.2.0, part 99 (last): the ownership and
-- privilege rules of enspiral.secure_installation() (part 10) over every
-- object the parts before made: SECURITY DEFINER functions to the extension
-- owner, everything else run implicitly to the role running the script,
-- EXECUTE revoked from PUBLIC on everything internal.
SELECT enspiral.secure_installation();
